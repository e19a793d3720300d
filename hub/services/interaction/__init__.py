"""Interaction intake (回应): comments under the posts yunchu published and users' messages,
taken into conversations (hub/models/interaction.py). ``store`` writes them idempotently,
``planner`` and ``poller`` poll comments on the maintenance queue, ``budget`` holds the intake
rate budgets. WeChat user messages arrive pushed (hub/web/wechat_messages.py)."""
