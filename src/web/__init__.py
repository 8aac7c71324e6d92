"""The HTTP layer: the Starlette app, the GraphQL view, and what every HTTP answer shares
(error bodies, request ids, body limits, rate limits)."""
