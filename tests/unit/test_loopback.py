"""The quickack route commands of the local DIRAC (devtools: CTAODIRAC.LocalDIRAC.loopback)."""

from CTAODIRAC.LocalDIRAC.loopback import quickack_commands, quickack_is_on

ROUTES = """local 127.0.0.0/8 dev lo proto kernel scope host src 127.0.0.1
local 127.0.0.1 dev lo proto kernel scope host src 127.0.0.1 quickack 1
broadcast 127.255.255.255 dev lo proto kernel scope link src 127.0.0.1
local 192.0.2.2 dev eth0 proto kernel scope host src 192.0.2.2
"""


def test_each_local_route_without_quickack_is_changed_in_place_with_its_own_attributes():
    assert quickack_commands(ROUTES) == [
        ["ip", "-4", "route", "change", "table", "local", "local", "127.0.0.0/8", "dev", "lo", "proto", "kernel",
         "scope", "host", "src", "127.0.0.1", "quickack", "1"],
        ["ip", "-4", "route", "change", "table", "local", "local", "192.0.2.2", "dev", "eth0", "proto", "kernel",
         "scope", "host", "src", "192.0.2.2", "quickack", "1"],
    ]


def test_nothing_to_do_when_every_local_route_has_it_or_there_is_none():
    assert quickack_commands("local 127.0.0.1 dev lo scope host quickack 1\nbroadcast 127.255.255.255 dev lo\n") == []
    assert quickack_commands("") == []


def test_turning_it_off_replaces_the_value_and_leaves_routes_without_it_alone():
    assert quickack_commands(ROUTES, 0) == [
        ["ip", "-4", "route", "change", "table", "local", "local", "127.0.0.1", "dev", "lo", "proto", "kernel",
         "scope", "host", "src", "127.0.0.1", "quickack", "0"],
    ]
    assert quickack_commands(ROUTES.replace("quickack 1", "quickack 0"), 1)[1][-8:] == [
        "proto", "kernel", "scope", "host", "src", "127.0.0.1", "quickack", "1"]


def test_on_only_when_every_local_route_has_it():
    assert not quickack_is_on(ROUTES)
    assert quickack_is_on(ROUTES.replace(" 127.0.0.1\n", " 127.0.0.1 quickack 1\n").replace(
        "192.0.2.2\n", "192.0.2.2 quickack 1\n"))
    assert not quickack_is_on("broadcast 127.255.255.255 dev lo\n")
