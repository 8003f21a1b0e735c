"""moto's server (pinned in requirements.txt), with its SQS made linear in the queue's size.

moto 5.2.5 builds every attribute of a queue, which counts the queue's messages three times,
to read one of them: `send_message` reads `ContentBasedDeduplication`, and `receive_message`
reads `MessageRetentionPeriod` for each message it hands out. With thousands of messages
waiting (the scale run's 10 000 S3 notifications and due feeds), a send costs O(backlog)
and a receive of ten messages costs thirty scans, so a burst costs O(n^2): 5 000 waiting
messages made a receive take 2.5 s. And listing the visible messages asks the clock twice
per message. The reads below give the same answers with one clock reading per list and
without the counts. Nothing else is changed; services.sh starts this file instead of
`moto_server`.
"""

import sys
import threading

from moto.server import main
from moto.sqs import models

_full_attributes = models.Queue.attributes.fget
_sending = threading.local()


def _attributes(queue):
    # While a message is being sent, only the FIFO settings are read: build just those.
    if getattr(_sending, "active", False):
        if not queue.fifo_queue:
            return {}
        return {
            name: str(value).lower() if isinstance(value, bool) else value
            for name in queue.FIFO_ATTRIBUTES
            for value in [getattr(queue, models.camelcase_to_underscores(name))]
        }
    return _full_attributes(queue)


_send_message = models.SQSBackend.send_message


def _send_message_reading_little(self, *args, **kwargs):
    _sending.active = True
    try:
        return _send_message(self, *args, **kwargs)
    finally:
        _sending.active = False


def _retained(self, queue_name, message):
    queue = self.get_queue(queue_name)
    retain_until = int(queue.message_retention_period) + message.sent_timestamp / 1000
    return retain_until > models.unix_time()


def _visible_messages(queue):
    now = models.unix_time_millis()
    return [m for m in queue._messages if now > m.visible_at and not now < m.delayed_until]


models.Queue.attributes = property(_attributes)
models.Queue.messages = property(_visible_messages)
models.SQSBackend.send_message = _send_message_reading_little
models.SQSBackend.is_message_valid_based_on_retention_period = _retained

if __name__ == "__main__":
    sys.exit(main())
