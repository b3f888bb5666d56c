"""Collection spread over the sites' Celery workers (`[distributed]`), merged into one recording.

The nightly `pytest controls/` is the coordinator: it splits collection into work orders per
site and kind (Azure per chunk of subscriptions, hosts, databases, TLS, exposure probes) and
sends each to its site's queue. A worker (`celery -A collectors.distributed.app worker -Q
<site>`) carries an order out with the same collectors a single-process run uses, in record
mode, and answers with the raw observations in the recording format. The coordinator merges
the answers into one `Recording` and the run evaluates it exactly like a `--replay`, so a
verdict does not depend on where its facts were read.

Nothing goes missing silently: every order has a deadline, and an order that has not answered
by then (worker down, site cut off, task lost, worker killed) is written into the merged
recording as exactly its own items' `error` ("site rivium did not answer by 02:40 UTC").

- `orders`: what one work order says and how it narrows the config to its part;
- `work`: what a worker does with an order (collect, record, answer);
- `planning`: which orders a run sends, in two phases (Azure and hosts and databases first,
  then TLS and probes, which need the endpoints Azure published);
- `merging`: answers into one recording, and the gaps of the unanswered orders;
- `broker`: the broker URL with its password from the environment, and the Celery app;
- `app`: the module a worker is started with;
- `coordinator`: sending, waiting until the deadline, and the sites' account for the cover.
"""
