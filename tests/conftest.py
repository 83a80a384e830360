"""Test-wide settings: one torch thread (see ENVIRONMENT.md: 2 threads on 2 shared cores can run
100x slower), and the offline data folder."""

from __future__ import annotations

import os

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("RAY_AUTH_MODE", "disabled")

import pytest
import torch

from prmkit.paths import shared_data_dir

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def data_dir():
    return shared_data_dir()
