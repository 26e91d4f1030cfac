"""Slack's side of the wire: the Web API client, response_url posts, user groups, our HTTP
endpoints (`/slack/events`, `/healthz`, `/metrics`), request signatures, delivery keys."""
