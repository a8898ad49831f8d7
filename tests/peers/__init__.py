"""Real servers the tests talk to on loopback (sshd, dovecot, HTTP), started by fixtures."""
