"""What the app does with what Slack sends: the listeners, the dispatch of one invocation,
replies and progress, request messages, alerts and the history's scheduled jobs."""
