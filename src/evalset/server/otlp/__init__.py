"""The OTLP/HTTP trace receiver.

```
otlp/
  decode.py     protobuf and JSON exports -> SpanRecords (logfire's JSON-encoded values decoded)
  writer.py     the bounded queue and the thread that commits batches and calls the SpanConsumers
```
The routes (`api/v1/otlp.py`) read the body, authenticate, decode, and offer the records to the writer.
"""
