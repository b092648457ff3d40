"""The alert notifier, the process `affectwatch alerts scheduler`: the sweep (recovery, escalation and
stale alerts once faces stop arriving, camera-offline alerts), dispatch of recorded alert changes to the
alert queue, and the delivery worker that sends them as webhooks and email.

The alert rule and its engine, which the worker runs as it writes faces, stay in the shared package
(affectwatch.alerts)."""
