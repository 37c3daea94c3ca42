"""The shape of a stream's radix trees (rax) keyed by 16-byte stream IDs: a consumer group's
pending entries list (PEL) and each consumer's. What MEMORY USAGE counts for one depends on
the writer: Redis (and Valkey before 8.1) estimates 16 bytes an ID and 244 a node
(streamRadixTreeMemoryUsage: a raxNode header and 30 longs), Valkey 8.1+ the nodes' own
allocations. Both need the tree's shape, which the sorted IDs fix (rax keeps a chain of
single-child nodes as one compressed node): one pass over them, with a stack, finds it."""

from __future__ import annotations

from dataclasses import dataclass

from rediscope.core.rdbfile.memest import size_class

ID_BYTES = 16
#: what streamRadixTreeMemoryUsage adds per node: sizeof(raxNode) + sizeof(long) * 30
NODE_ESTIMATE = 4 + 8 * 30
RAX = 32  # the rax struct (head, numele, numnodes, and Valkey's alloc_size)


@dataclass(frozen=True)
class RaxShape:
    keys: int
    nodes: int
    allocated: int  # the nodes' allocations (and the rax's), as the allocator rounds them

    @property
    def estimate(self) -> int:
        """What Redis's MEMORY USAGE counts for the tree (streamRadixTreeMemoryUsage)."""
        return self.keys * ID_BYTES + self.nodes * NODE_ESTIMATE


def _node(chars: int, children: int, value: bool) -> int:
    """A rax node's allocation: header, chars padded to a pointer, child pointers, the value."""
    head = 4 + chars
    return size_class(head + (-head) % 8 + 8 * children + (8 if value else 0))


LEAF = _node(0, 0, True)  # an ID's node: no children, the pointer to its streamNACK


class _Walk:
    def __init__(self) -> None:
        self.nodes = 0
        self.allocated = 0
        self.stack: list[list[int]] = []  # open branching nodes: [depth, children]

    def edge(self, parent: int, child: int) -> None:
        """An edge from the branching node at depth PARENT down to a node at depth CHILD: its
        first byte sits in the parent, the rest (if any) in one compressed node."""
        self.stack[-1][1] += 1
        if child - parent >= 2:
            self.nodes += 1
            self.allocated += _node(child - parent - 1, 1, False)

    def close_to(self, depth: int, pending: int) -> int:
        """Close the branching nodes deeper than DEPTH; the depth of the subtree left."""
        while self.stack and self.stack[-1][0] > depth:
            self.edge(self.stack[-1][0], pending)
            at, children = self.stack.pop()
            self.nodes += 1
            self.allocated += _node(children, children, False)
            pending = at
        return pending


def _lcp(a: int, b: int) -> int:
    return (ID_BYTES * 8 - (a ^ b).bit_length()) // 8


class RaxCounter:
    """The shape of a rax fed its IDs in order (as an RDB holds them: a PEL is saved walking
    its tree) one at a time: bounded state, whatever the size of the PEL. An ID out of order
    (a damaged file) is taken as it comes: the shape is then an approximation."""

    def __init__(self) -> None:
        self.walk = _Walk()
        self.prev: int | None = None
        self.keys = 0

    def add(self, raw: bytes) -> None:
        key = int.from_bytes(raw, "big")
        if self.prev is not None:
            if key == self.prev:
                return
            self._place(_lcp(self.prev, key))
        self.prev = key
        self.keys += 1

    def _place(self, h: int) -> int:
        """Place the previous ID, which shares H bytes with the next (-1: none follows)."""
        walk = self.walk
        pending = walk.close_to(h, ID_BYTES)
        if h >= 0:
            if not walk.stack or walk.stack[-1][0] < h:
                walk.stack.append([h, 0])
            walk.edge(h, pending)
        return pending

    def shape(self) -> RaxShape:
        n = self.keys
        if self.prev is None:
            return RaxShape(0, 1, RAX + _node(0, 0, False))
        top = self._place(-1)  # the depth where the first branch (or the one ID) is
        self.prev = None
        nodes, allocated = self.walk.nodes + n, self.walk.allocated + n * LEAF
        if top > 0:  # the root: one compressed node of the prefix every ID shares
            nodes, allocated = nodes + 1, allocated + _node(top, 1, False)
        return RaxShape(n, nodes, RAX + allocated)


def shape(ids: list[bytes]) -> RaxShape:
    """The rax of these 16-byte IDs (in any order)."""
    counter = RaxCounter()
    for raw in sorted(set(ids)):
        counter.add(raw)
    return counter.shape()


#: sizeof(streamCG): last id, entries read (RDB stream type 2+, Redis 7.0+), two rax pointers
GROUP = {1: 32, 2: 40, 3: 40}
NACK = 24  # a pending entry's streamNACK: delivery time, count, consumer
#: sizeof(streamConsumer): seen time (and active time, stream type 3: 7.2+), name, rax
CONSUMER = {1: 24, 2: 24, 3: 32}


def group_bytes(
    version: int, pel: RaxShape, consumers: list[tuple[int, RaxShape]], allocated: bool
) -> int:
    """What MEMORY USAGE counts for one consumer group (objectComputeSize): the group, its
    PEL's tree and a streamNACK per entry, and per consumer its struct, name and own PEL
    tree (whose entries point at the group's NACKs). ALLOCATED: the trees by their
    allocations (Valkey 8.1+), else by Redis's estimate."""

    def tree(t: RaxShape) -> int:
        return t.allocated if allocated else t.estimate

    nack = size_class(NACK) if allocated else NACK
    own = sum(CONSUMER[version] + name + tree(t) for name, t in consumers)
    return GROUP[version] + tree(pel) + nack * pel.keys + own
