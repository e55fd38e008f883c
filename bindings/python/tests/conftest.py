import pytest

import bitcask


@pytest.fixture
def path(tmp_path):
    return str(tmp_path / "db")


@pytest.fixture
def db(path):
    d = bitcask.open(path)
    yield d
    d.close()
