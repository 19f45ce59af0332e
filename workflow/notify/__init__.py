"""Notifications (issue 21): the transactional outbox, staff notifications, residents' SMS and
webhooks, delivered at least once by a worker (`streetflow notify run`).

The trail's one append (workflow.audit.chain.append) queues every case event in the outbox in
the same transaction; the worker turns each queued event into deliveries (outbox.fan_out) and
delivers them (worker.run_once)."""
