"""Model-based test: random sequences of operations on a DB and on a dict agree, across
batches, merges and reopens."""

import shutil
import tempfile

import hypothesis.strategies as st
from hypothesis import HealthCheck, settings
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

import bitcask

keys = st.binary(min_size=1, max_size=8) | st.text(min_size=1, max_size=4)
values = st.binary(max_size=300)


def kb(k):
    return k.encode() if isinstance(k, str) else k


class DBvsDict(RuleBasedStateMachine):
    def __init__(self):
        super().__init__()
        self.dir = tempfile.mkdtemp(prefix="bitcask-model-")
        self.db = bitcask.open(self.dir, max_file_size=4096)
        self.model = {}

    def teardown(self):
        self.db.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    @rule(k=keys, v=values)
    def put(self, k, v):
        self.db[k] = v
        self.model[kb(k)] = v

    @rule(k=keys)
    def delete(self, k):
        self.db.delete(k)
        self.model.pop(kb(k), None)

    @rule(k=keys)
    def get(self, k):
        assert self.db.get(k) == self.model.get(kb(k))
        assert (k in self.db) == (kb(k) in self.model)

    @precondition(lambda self: self.model)
    @rule(data=st.data())
    def get_existing(self, data):
        k = data.draw(st.sampled_from(sorted(self.model)))
        assert self.db[k] == self.model[k]
        buf = bytearray(len(self.model[k]))
        assert self.db.get_into(k, buf) == len(buf) and buf == self.model[k]
        with self.db.open_value(k) as f:
            assert f.read() == self.model[k]

    @rule(ops=st.lists(st.tuples(keys, st.none() | values), max_size=10), fail=st.booleans())
    def batch(self, ops, fail):
        try:
            with self.db.batch() as b:
                for k, v in ops:
                    if v is None:
                        b.delete(k)
                    else:
                        b.put(k, v)
                if fail:
                    raise RuntimeError("abandon the batch")
        except RuntimeError:
            return
        for k, v in ops:
            if v is None:
                self.model.pop(kb(k), None)
            else:
                self.model[kb(k)] = v

    @rule()
    def merge(self):
        self.db.merge()

    @rule()
    def reopen(self):
        self.db.close()
        self.db = bitcask.open(self.dir, max_file_size=4096)

    @invariant()
    def same_contents(self):
        assert len(self.db) == len(self.model)
        assert dict(self.db.items()) == self.model


TestDBvsDict = DBvsDict.TestCase
TestDBvsDict.settings = settings(
    max_examples=60,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
