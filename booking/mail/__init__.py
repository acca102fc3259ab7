"""E-mail: rendering (Jinja2, text + HTML, de/en), composing MIME, the outbox and its worker.

Services call :func:`booking.mail.outbox.enqueue` inside their own write transaction; the
:class:`booking.mail.worker.OutboxWorker` sends later with :class:`booking.mail.sender.SmtpSender`.
"""
