-- function_execution example (handler kind `lua`, examples/actions/function_execution.json).
-- Prices a checkout: subtotal of the cart's lines, a discount by customer
-- tier (config.discounts, percent), VAT (config.vat_percent) and the total,
-- all in integer cents so no float rounding reaches the money.
-- Input: the event's data {"cart_id", "tier", "items": [{"sku", "qty", "unit_cents"}]}.
-- A bad line is an error(): the attempt fails with that message.
local items = input.items
if items == nil or #items == 0 then
  error("the cart has no items", 0)
end

local subtotal, lines = 0, {}
for i, item in ipairs(items) do
  local qty, unit = item.qty, item.unit_cents
  if math.type(qty) ~= "integer" or qty < 1 or math.type(unit) ~= "integer" or unit < 0 then
    error(string.format("items[%d]: qty must be an integer >= 1 and unit_cents an integer >= 0", i), 0)
  end
  subtotal = subtotal + qty * unit
  lines[#lines + 1] = {sku = item.sku, qty = qty, line_cents = qty * unit}
end

local percent = 0
if config.discounts ~= nil and input.tier ~= nil then
  percent = config.discounts[input.tier] or 0
end
local discount = subtotal * percent // 100
local vat = (subtotal - discount) * (config.vat_percent or 0) // 100

return {
  cart_id = input.cart_id,
  lines = lines,
  subtotal_cents = subtotal,
  discount_percent = percent,
  discount_cents = discount,
  vat_cents = vat,
  total_cents = subtotal - discount + vat,
}
