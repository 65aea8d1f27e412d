#!/bin/bash
# performance-test-plugin-actions.sh

BASE_URL="${BASE_URL:-http://localhost:5173}"  # actiond: the only change from the seed

echo "⚡ Performance Testing Plugin Actions"
echo "===================================="

# Test 100 plugin action executions
echo "Testing 100 plugin action executions..."
for i in {1..100}; do
  curl -s -X POST "$BASE_URL/api/plugins/events/automation" \
    -H "Content-Type: application/json" \
    -d "{
      \"flow_execution_id\": \"perf_test_$i\",
      \"events\": [{
        \"action_type\": \"send_welcome_email\",
        \"plugin_id\": \"87312788-df51-4002-8eca-9cfc3e3f7d8e\",
        \"payload\": {
          \"user_id\": \"perf_user_$i\",
          \"email\": \"perf$i@test.com\"
        }
      }]
    }" > /dev/null
  
  if [ $((i % 10)) -eq 0 ]; then
    echo "Completed $i requests..."
  fi
done

echo "✅ Performance test completed: 100 plugin action executions"
