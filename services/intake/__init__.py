"""Dossiers: submission, the status machine, officer actions, queues, slips, audit trail."""
