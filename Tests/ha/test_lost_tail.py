"""A failover that loses a message subscribers already received (spec HA-3's one exception).

With --redis-min-replicas 1 a message no replica confirmed is answered 503 but may already have
reached subscribers. Here that is made certain, not left to timing: the replica is cut off from
the master (the master drops its link, and the replica's wrong `masterauth` keeps it from
coming back), `m-3` is published (503, delivered), the master is SIGKILLed, and Sentinel promotes
the replica, which never had `m-3`: the channel is back at sequence 2, and the next message gets
`m-3`'s number. What is asserted:

* the subscribers that received `m-2` are not served as after a reset (the oldest message, `m-1`,
  again): they get the next message, `n-3`, and nothing twice;
* a long-poll client that comes back with `last_message_sequence=3` (the lost message's) while
  the channel is at 2 waits for `n-3`, as the live subscribers do.
"""

from __future__ import annotations

import http.client
import json
import threading

from cluster import (LongPollSubscriber, WebSocketSubscriber, free_port, head, publish, redis_command, wait_for)

import pytest

CHANNEL = "ha/lost"


def long_poll(port: int, last: int, into: list):
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=40)
    connection.request("GET", f"/{CHANNEL}?last_message_sequence={last}")
    response = connection.getresponse()
    into.append((response.status, response.read().decode()))
    connection.close()


def long_polls(admin: int) -> int:
    """The node's long-poll subscribers on the channel (spec OPS-5)."""
    connection = http.client.HTTPConnection("127.0.0.1", admin, timeout=5)
    connection.request("GET", f"/channels/{CHANNEL}")
    response = connection.getresponse()
    info = json.loads(response.read()) if response.status == 200 else {}
    connection.close()
    return info.get("subscribers", {}).get("long_poll", 0)


@pytest.mark.clause("HA-3")
def test_subscribers_of_a_lost_message_get_the_one_that_takes_its_number(cluster):
    subscribers = []
    master, replica = cluster.start_replicated_master()
    admins = [free_port(), free_port()]
    # A long long-poll timeout: the pollers below must stay registered until the publish.
    nodes = [cluster.start_node(["--redis-min-replicas", "1", "--redis-replica-timeout", "300", "--long-poll-timeout", "30",
                                 "--admin-address", f"127.0.0.1:{admin}"]) for admin in admins]
    for port in nodes:
        subscribers.append(cluster.track(WebSocketSubscriber(port, CHANNEL).start()))
        subscribers.append(cluster.track(LongPollSubscriber(port, CHANNEL).start()))
    for i, body in enumerate(["m-1", "m-2"]):
        assert publish(nodes[i], CHANNEL, body)[0] == 202
        wait_for(lambda: all(body in s.bodies for s in subscribers), 10, f"every subscriber to receive {body}")

    # Cut the replica off for good: it cannot authenticate to come back.
    assert redis_command(replica, "CONFIG", "SET", "masterauth", "not-the-password") == "OK"
    redis_command(master, "CLIENT", "KILL", "TYPE", "replica")
    wait_for(lambda: b"connected_slaves:0" in (redis_command(master, "INFO", "replication") or b""), 10,
             "the master to lose its replica")
    status, text = publish(nodes[0], CHANNEL, "m-3")
    assert status == 503 and "unconfirmed" in text, (status, text)
    wait_for(lambda: all("m-3" in s.bodies for s in subscribers), 10, "every subscriber to receive m-3")

    cluster.kill_redis(master)
    wait_for(lambda: all(cluster.sentinel_master(s) == replica for s in cluster.sentinel_ports), 20,
             "the sentinels to promote the replica")
    assert redis_command(replica, "GET", f"firehose:/{CHANNEL}:sequence") == b"2", "the promoted replica never had m-3"
    assert redis_command(replica, "CONFIG", "SET", "masterauth", "") == "OK"
    cluster.start_redis(master, replica_of=replica)  # back as a replica, so that WAIT 1 can succeed

    # A long-poll coming back from m-3 on each node, while the channel is at 2 again.
    returning: list = []
    wait_for(lambda: all(head(port) == 200 for port in nodes), 20, "both nodes to reach the new master")
    pollers = [threading.Thread(target=long_poll, args=(port, 3, returning)) for port in nodes]
    for poller in pollers:
        poller.start()
    # Registered on both nodes (beside each node's own long-poll subscriber) before anything
    # takes sequence 3: once one has, a client at 3 is level with the channel again.
    wait_for(lambda: returning or all(long_polls(admin) >= 2 for admin in admins), 10, "the returning long-polls to wait")
    assert not returning, f"a long-poll coming back from the lost message was answered at once: {returning}"
    status = 0
    for _ in range(100):  # until the replica counts (503 "unconfirmed" until then; each one is a new message)
        status, text = publish(nodes[1], CHANNEL, "n-3")
        if status == 202:
            break
    assert status == 202, (status, text)
    for poller in pollers:
        poller.join(40)
    sequence = int(redis_command(replica, "GET", f"firehose:/{CHANNEL}:sequence"))

    wait_for(lambda: all(s.bodies[-1:] == ["n-3"] for s in subscribers), 10, "every subscriber to receive n-3")
    for s in subscribers:
        # n-3 may have been published more than once (each 503 is stored); none is m-1 again.
        assert s.bodies[:3] == ["m-1", "m-2", "m-3"] and set(s.bodies[3:]) == {"n-3"}, f"{s.name}: {s.bodies}"
        # 3 twice: m-3's number, then n-3's (the store gave it again); then every n-3 in order.
        assert s.sequences == [1, 2, 3] + list(range(3, sequence + 1)), (s.name, s.sequences, sequence)
    assert [status for status, _ in returning] == [200, 200], returning
    for _, text in returning:
        assert '"message":"n-3","last_sequence":3' in text, text

