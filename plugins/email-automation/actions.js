'use strict';
/*
 * The ten email actions of the example plugin: what is registered with
 * actiond (action_type, title, description, category, required_fields,
 * optional_fields, endpoint) and how each renders its message.
 *
 * Every action needs `email` (the recipient) besides the ids the seed's
 * registry example lists; render() returns {subject, text, html} from the
 * payload, with every payload value HTML-escaped in the html part.
 */

const escapeHtml = (v) =>
  String(v).replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]);

const hello = (p) => (p.first_name ? `Hi ${p.first_name},` : 'Hi,');

/* Lines of text become the text part and <p> paragraphs of the html part. */
function message(subject, lines) {
  return {
    subject,
    text: lines.join('\n\n') + '\n',
    html: lines.map((l) => `<p>${escapeHtml(l)}</p>`).join('\n'),
  };
}

const ACTIONS = [
  {
    action_type: 'send_welcome_email',
    title: 'Send Welcome Email',
    description: 'Sends personalized welcome email to new customers',
    required_fields: ['user_id', 'email'],
    optional_fields: ['first_name', 'template_id'],
    render: (p) =>
      message('Welcome aboard!', [
        hello(p),
        'Welcome! Your account is ready and we are glad to have you with us.',
        p.template_id ? `(template ${p.template_id})` : 'See you soon.',
      ]),
  },
  {
    action_type: 'send_abandoned_cart_email',
    title: 'Send Abandoned Cart Email',
    description: 'Reminds a customer of the items left in their cart',
    required_fields: ['user_id', 'email', 'cart_id'],
    optional_fields: ['first_name', 'discount_code', 'cart_url'],
    render: (p) =>
      message('You left something in your cart', [
        hello(p),
        `Your cart ${p.cart_id} is still waiting for you${p.cart_url ? `: ${p.cart_url}` : '.'}`,
        p.discount_code ? `Use code ${p.discount_code} at checkout for a discount.` : 'Complete your order any time.',
      ]),
  },
  {
    action_type: 'send_order_confirmation',
    title: 'Send Order Confirmation Email',
    description: 'Sends order confirmation with tracking details',
    required_fields: ['user_id', 'email', 'order_id'],
    optional_fields: ['first_name', 'include_tracking', 'custom_message', 'total'],
    render: (p) =>
      message(`Order ${p.order_id} confirmed`, [
        hello(p),
        `Thank you for your order ${p.order_id}${p.total !== undefined ? ` (total ${p.total})` : ''}.`,
        p.custom_message || (p.include_tracking ? 'We will send tracking details when it ships.' : 'We are preparing it now.'),
      ]),
  },
  {
    action_type: 'send_shipping_notification',
    title: 'Send Shipping Notification',
    description: 'Tells a customer their order has shipped, with tracking',
    required_fields: ['user_id', 'email', 'order_id', 'tracking_number'],
    optional_fields: ['first_name', 'carrier', 'tracking_url'],
    render: (p) =>
      message(`Order ${p.order_id} has shipped`, [
        hello(p),
        `Your order ${p.order_id} is on its way${p.carrier ? ` with ${p.carrier}` : ''}.`,
        `Tracking number: ${p.tracking_number}${p.tracking_url ? ` (${p.tracking_url})` : ''}`,
      ]),
  },
  {
    action_type: 'send_password_reset',
    title: 'Send Password Reset Email',
    description: 'Sends a password reset link',
    required_fields: ['user_id', 'email', 'reset_url'],
    optional_fields: ['first_name', 'expires_in_minutes'],
    render: (p) =>
      message('Reset your password', [
        hello(p),
        `Reset your password here: ${p.reset_url}`,
        `The link expires in ${p.expires_in_minutes || 60} minutes. Ignore this email if you did not ask for it.`,
      ]),
  },
  {
    action_type: 'send_newsletter',
    title: 'Send Newsletter',
    description: 'Sends a newsletter issue to one subscriber',
    required_fields: ['email', 'subject', 'content'],
    optional_fields: ['user_id', 'first_name', 'unsubscribe_url'],
    render: (p) =>
      message(String(p.subject), [
        hello(p),
        String(p.content),
        p.unsubscribe_url ? `Unsubscribe: ${p.unsubscribe_url}` : 'Reply to this email to unsubscribe.',
      ]),
  },
  {
    action_type: 'send_review_request',
    title: 'Send Review Request',
    description: 'Asks a customer to review a purchase',
    required_fields: ['user_id', 'email', 'order_id'],
    optional_fields: ['first_name', 'product_name', 'review_url'],
    render: (p) =>
      message(`How was ${p.product_name || 'your order'}?`, [
        hello(p),
        `We would love to hear what you think of ${p.product_name || `order ${p.order_id}`}.`,
        p.review_url ? `Leave a review: ${p.review_url}` : 'Just reply to this email with your review.',
      ]),
  },
  {
    action_type: 'send_birthday_email',
    title: 'Send Birthday Email',
    description: 'Sends birthday wishes, optionally with a gift code',
    required_fields: ['user_id', 'email'],
    optional_fields: ['first_name', 'discount_code'],
    render: (p) =>
      message('Happy birthday!', [
        hello(p),
        'Happy birthday from all of us!',
        p.discount_code ? `Here is a gift: code ${p.discount_code}.` : 'Have a wonderful day.',
      ]),
  },
  {
    action_type: 'send_winback_email',
    title: 'Send Win-back Email',
    description: 'Invites an inactive customer back',
    required_fields: ['user_id', 'email'],
    optional_fields: ['first_name', 'discount_code', 'last_order_date'],
    render: (p) =>
      message('We miss you', [
        hello(p),
        `It has been a while${p.last_order_date ? ` since your last order on ${p.last_order_date}` : ''}.`,
        p.discount_code ? `Come back with code ${p.discount_code}.` : 'Come and see what is new.',
      ]),
  },
  {
    action_type: 'send_invoice_email',
    title: 'Send Invoice Email',
    description: 'Sends an invoice with amount and due date',
    required_fields: ['user_id', 'email', 'invoice_id', 'amount'],
    optional_fields: ['first_name', 'currency', 'due_date', 'invoice_url'],
    render: (p) =>
      message(`Invoice ${p.invoice_id}`, [
        hello(p),
        `Invoice ${p.invoice_id}: ${p.amount}${p.currency ? ` ${p.currency}` : ''}${p.due_date ? `, due ${p.due_date}` : ''}.`,
        p.invoice_url ? `View it here: ${p.invoice_url}` : 'Thank you for your business.',
      ]),
  },
];

const kebab = (s) => s.replace(/_/g, '-');

for (const a of ACTIONS) {
  a.category = 'email';
  a.endpoint = `/actions/${kebab(a.action_type)}`;
}

/* The registration body of POST /api/plugins/{slug}/register-actions. */
function registration() {
  return {
    actions: ACTIONS.map((a) => ({
      action_type: a.action_type,
      title: a.title,
      description: a.description,
      category: a.category,
      required_fields: a.required_fields,
      optional_fields: a.optional_fields,
      endpoint: a.endpoint,
    })),
  };
}

/* The first required field that is absent, null or "", or null. */
function missingField(action, payload) {
  for (const f of action.required_fields) {
    const v = payload[f];
    if (v === undefined || v === null || v === '') return f;
  }
  return null;
}

module.exports = { ACTIONS, registration, missingField, byEndpoint: new Map(ACTIONS.map((a) => [a.endpoint, a])) };
