"""Block Kit views of command results, built with slack_sdk's model classes and checked
against Slack's limits (`bot.slack.limits`) before anything is sent."""
