"""The live key source: a pipelined SCAN walk per node.

`source` is the KeySource over a live server; `pool` runs a NodeScanner (`live`) on every node,
each walking its dbs (`walk`, with SCAN TYPE lockstep in `typed`, types predicted in `predict`,
requests built in `requests` and decoded in `replies`, paced in `pace`); `cluster` keeps a
cluster scan exact while slots move; `describe` fetches the few details a report shows. The
shared types (options, batches, summaries) are in core/pipeline.
"""
