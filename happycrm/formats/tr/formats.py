# Turkish dates as people write them in messages: 05.12.2026, 19:30.
SHORT_DATE_FORMAT = "d.m.Y"
TIME_FORMAT = "H:i"
