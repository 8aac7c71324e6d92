"""The outbox relay: delivers what mutations queue in `outbox_events` (e-mail today)."""
