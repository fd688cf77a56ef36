"""moto's default AMIs are loaded when an EC2 backend first reads them (emulator/partitions.py): every
operation still sees them all, with their snapshots and tags, in a fresh account and after a reset."""
from __future__ import annotations

import gzip
import json
import threading
from pathlib import Path

import moto

RESOURCES = Path(moto.__file__).parent / "ec2" / "resources"


def _default_ami_ids(region: str) -> set[str]:
    ids = {a["ami_id"] for a in json.loads(gzip.open(RESOURCES / "amis.json.gz").read())}
    for path in ("latest_amis", "ecs/optimized_amis"):
        ids |= {a["ami_id"] for a in json.loads(gzip.open(RESOURCES / path / f"{region}.json.gz").read())}
    return ids


def test_describe_images_sees_every_default_ami_after_a_reset(emu):
    emu.client("ec2").describe_regions()  # builds the backend, as the audit does
    emu.reset()
    ec2 = emu.client("ec2")
    images = ec2.describe_images(Owners=["amazon"])["Images"]
    assert {i["ImageId"] for i in images} == _default_ami_ids("us-east-1")
    snapshots = ec2.describe_snapshots(OwnerIds=["amazon"])["Snapshots"]
    assert len(snapshots) == len(images)
    # each default AMI's volume is deleted once its snapshot is taken, as moto did at backend build
    assert ec2.describe_volumes()["Volumes"] == []


def test_reading_tags_first_loads_the_default_amis(emu):
    """Loading a default AMI may tag it (moto's resource files carry ``tags``): reading ``tags`` loads them."""
    from moto.ec2.models import EC2Backend

    backend = EC2Backend("us-east-1", "111122223333")
    assert isinstance(backend.tags, dict)
    assert set(backend.__dict__["amis"]) == _default_ami_ids("us-east-1")


def test_a_snapshot_read_first_belongs_to_a_default_ami(emu):
    ec2 = emu.client("ec2")
    snapshots = ec2.describe_snapshots(OwnerIds=["amazon"])["Snapshots"]
    assert snapshots and all(s["Description"].startswith("Auto-created snapshot for AMI ") for s in snapshots)
    assert len(ec2.describe_images(Owners=["amazon"])["Images"]) == len(snapshots)


def test_threads_reading_a_new_backend_at_once_load_the_amis_once(emu):
    from moto.ec2.models import EC2Backend

    backend = EC2Backend("us-east-1", "111122223333")
    seen: list[tuple[int, int]] = []
    barrier = threading.Barrier(4)

    def read(name: str) -> None:
        barrier.wait()
        seen.append((len(backend.amis), len(getattr(backend, name))))

    threads = [threading.Thread(target=read, args=(n,)) for n in ("amis", "snapshots", "tags", "volumes")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert {amis for amis, _ in seen} == {len(_default_ami_ids("us-east-1"))}
    assert len(backend.snapshots) == len(backend.amis) and backend.volumes == {}
