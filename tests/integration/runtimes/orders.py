"""Handler module for tests/integration/test_runtimes.py (kind python).

Each function is one behaviour the test checks through the real daemon.
"""
import socket


def handler(input, ctx):
    """An order total from the event (subscription) or the input (manual run)."""
    d = ctx['event']['data'] if ctx['event'] else input
    total = sum(i['qty'] * i['price'] for i in d['items'])
    print('computing the total of', d['customer'])  # goes to stderr, not the output
    return {'customer': d['customer'], 'total': total, 'paid': True, 'note': None,
            'lines': len(d['items']), 'currency': ctx['config']['currency'],
            'attempt': ctx['execution']['attempt'], 'from_event': ctx['event'] is not None,
            'runtime': 'python'}


def decline(input, ctx):
    raise ValueError(f"card declined for order {input['order']}")


def hang(input, ctx):
    import time
    while True:
        time.sleep(1)


def open_socket(input, ctx):
    """Opens an AF_INET socket: refused under seccomp "no_network"."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.close()
    return {'socket': 'opened'}
