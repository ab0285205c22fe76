"""The local stack behind `make run`: the Dailybot emulator and `chalice local`, side by side."""
