"""``annotate mc --ray`` on a two-node Ray cluster started on this machine (``ray start --head``, then a
second ``ray start --address``), with the worker node killed mid-run: the run finishes, the lost chunks
are labelled again on the head node, and the output equals a single-process run's, with no solution
lost or written twice."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from annotate_cases import make_pairs, solver_mc

from prmkit.annotate.mc import annotate_mc
from prmkit.data.jsonl import write_jsonl

pytest.importorskip("ray")
pytestmark = pytest.mark.slow

RAY = str(Path(sys.executable).with_name("ray"))
# The head notices a lost node within about a second instead of the default 15 s.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "RAY_health_check_period_ms": "300",
       "RAY_health_check_failure_threshold": "3", "RAY_health_check_initial_delay_ms": "0"}  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def cluster():
    head, worker_port = free_port(), free_port()
    common = ["--num-cpus", "1", "--disable-usage-stats"]
    subprocess.run([RAY, "start", "--head", "--port", str(head), "--include-dashboard", "false", *common],
                   env=ENV, check=True, capture_output=True, timeout=120)  # fmt: skip
    try:
        subprocess.run([RAY, "start", "--address", f"127.0.0.1:{head}", "--node-manager-port", str(worker_port),
                        *common], env=ENV, check=True, capture_output=True, timeout=120)  # fmt: skip
        yield f"127.0.0.1:{head}", worker_port
    finally:
        subprocess.run([RAY, "stop", "--force"], check=False, env=ENV, capture_output=True, timeout=120)


def worker_node_pids(worker_port: int) -> list[int]:
    """The raylet of the node started with ``worker_port``, and every process it started."""
    ps = subprocess.run(["ps", "-eww", "-o", "pid,ppid,args"], capture_output=True, text=True, check=True).stdout
    rows = [line.split(None, 2) for line in ps.splitlines()[1:]]
    raylets = [int(pid) for pid, _, args in rows if "raylet" in args and f"--node_manager_port={worker_port}" in args]
    children = [int(pid) for pid, ppid, _ in rows if int(ppid) in raylets]
    return raylets + children


def test_a_lost_worker_node_costs_nothing_but_time(tmp_path, cluster):
    address, worker_port = cluster
    pairs = make_pairs(40, stream="cluster", mistake_rate=0.5)
    local = tmp_path / "local.jsonl"
    annotate_mc(solver_mc(n=8, model="slip_rate=0.2", grade_workers=1), pairs, local)

    solutions, out = tmp_path / "solutions.jsonl", tmp_path / "ray.jsonl"
    write_jsonl(solutions, pairs)
    cmd = [sys.executable, "-m", "prmkit.cli.main", "annotate", "mc", str(solutions), "-o", str(out),
           "--generation.backend", "synthetic-solver", "--generation.model", "slip_rate=0.2", "--sampling.n", "8",
           "--grade-workers", "1", "--ray", "--ray-address", address, "--ray-chunk", "2", "--no-progress"]  # fmt: skip
    driver = subprocess.Popen(cmd, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 300
    while not (out.is_file() and len(out.read_text().splitlines()) >= 6):  # a few chunks are done
        assert driver.poll() is None, driver.communicate()[0]
        assert time.monotonic() < deadline
        time.sleep(0.05)
    killed = worker_node_pids(worker_port)
    assert killed, "the worker node's raylet was not found"
    for pid in killed:
        os.kill(pid, signal.SIGKILL)
    assert len(out.read_text().splitlines()) < len(pairs)  # killed mid-run
    output, _ = driver.communicate(timeout=300)
    assert driver.returncode == 0, output
    assert out.read_bytes() == local.read_bytes()
