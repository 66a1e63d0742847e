"""Working calendars, deadlines in working time, the clock ledger, timeliness, the 766 index."""
