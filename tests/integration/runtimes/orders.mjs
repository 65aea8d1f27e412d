// Handler module for tests/integration/test_runtimes.py (kind javascript).
// Each export is one behaviour the test checks through the real daemon.

// An order total from the event (subscription) or the input (manual run).
export async function handler(input, ctx) {
  const d = ctx.event ? ctx.event.data : input;
  const total = d.items.reduce((sum, i) => sum + i.qty * i.price, 0);
  console.log('computing the total of', d.customer); // goes to stderr, not the output
  await new Promise((resolve) => setTimeout(resolve, 1));
  return {
    customer: d.customer, total, paid: true, note: null, lines: d.items.length,
    currency: ctx.config.currency, attempt: ctx.execution.attempt,
    from_event: ctx.event !== null, runtime: 'javascript',
  };
}

export function decline(input) {
  throw new Error(`card declined for order ${input.order}`);
}

export function hang() {
  return new Promise(() => setInterval(() => {}, 1000));
}
