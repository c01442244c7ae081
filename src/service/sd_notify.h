/* The systemd service notification protocol (sd_notify(3)), by hand: each
 * message is one datagram to the AF_UNIX socket named by $NOTIFY_SOCKET, a
 * path or an abstract name written with a leading '@'. Without NOTIFY_SOCKET
 * every call does nothing, so the proxy behaves the same outside systemd. */
#ifndef RPXY_SERVICE_SD_NOTIFY_H
#define RPXY_SERVICE_SD_NOTIFY_H

/* Reads $NOTIFY_SOCKET and opens a datagram socket for it. A value that is
 * not a usable address is logged (WARN) and notifications stay off.
 * Returns 0 (also when unset), or -1 after logging why. */
int sd_notify_open(void);

/* Sends one message ("READY=1\nSTATUS=..."), formatted printf-style and cut
 * at 4 KiB. A failed send is logged once (WARN); the proxy goes on. */
void sd_notify_send(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Closes the socket; later sends do nothing. */
void sd_notify_close(void);

#endif
