"""The CPU backend keeps freed activation memory (glibc's mallopt) unless the user tuned malloc."""

import platform

import pytest

from cnnc.backend.cpu.memory import M_MMAP_THRESHOLD, M_TRIM_THRESHOLD, MMAP_FROM, TRIM_PAST, keep_freed_memory


class FakeLibc:
    def __init__(self):
        self.calls = []

    def mallopt(self, param, value):
        self.calls.append((param, value))
        return 1


def test_sets_both_thresholds_once_per_call():
    libc = FakeLibc()
    assert keep_freed_memory({}, libc)
    assert libc.calls == [(M_MMAP_THRESHOLD, MMAP_FROM), (M_TRIM_THRESHOLD, TRIM_PAST)]


def test_the_users_malloc_settings_win():
    for name in ("MALLOC_TRIM_THRESHOLD_", "MALLOC_MMAP_THRESHOLD_", "GLIBC_TUNABLES"):
        libc = FakeLibc()
        assert not keep_freed_memory({name: "1"}, libc) and libc.calls == []


def test_without_mallopt_it_does_nothing():
    assert not keep_freed_memory({}, object())


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_with_glibc_mallopt_accepts_both_settings():
    assert keep_freed_memory({})
