"""What may be trusted, and what may be waived, is bounded and said out loud.

Issue 12 case 4.1: `trusted_networks = ["0.0.0.0/0", "::/0"]` was accepted and flipped storage
and host items to pass while the NSG control still called 0.0.0.0/0 untrusted. Now a trusted
network broader than the floor (default /8 IPv4, /16 IPv6) is a config error, and every control
uses controls/networks.py's one definition of "trusted". Case 4.2 (config side): a waiver whose
glob matches every resource must say `scope = "control"`.
"""

from __future__ import annotations

import ipaddress
from datetime import date
from pathlib import Path

import pytest

from collectors.config.policy import Policy
from collectors.config.waivers import Waiver, blanket_pattern
from controls import test_12b_trusted_networks as c12b
from controls.harness.config_file import ConfigError, load_config
from controls.host_firewall import host_remote_untrusted
from controls.networks import (
    address_trusted,
    anyone_reason,
    is_trusted_network,
    range_trusted,
    service_tag_trusted,
    trusted_networks,
    untrusted_rule_reason,
)
from controls.nsg_rules import nsg_source_untrusted
from tests.audit_runs import run_audit
from tests.control_calls import verdict
from tests.test_web_storage_verdicts import account, rules


def error_of(tmp_path: Path, text: str) -> str:
    path = tmp_path / "audit.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    message = str(caught.value)
    assert str(path) in message
    return message


def policy_of(tmp_path: Path, text: str) -> Policy:
    path = tmp_path / "audit.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path).policy


# --- the floor -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("networks", "key", "shown"),
    [
        ('["0.0.0.0/0", "::/0"]', "policy.trusted_networks[0]", "0.0.0.0/0"),
        ('["192.0.2.0/24", "::/0"]', "policy.trusted_networks[1]", "::/0"),
        ('["128.0.0.0/1"]', "policy.trusted_networks[0]", "/8 (policy.trusted_network_min_prefix_v4)"),
        ('["10.0.0.0/7"]', "policy.trusted_networks[0]", "10.0.0.0/7"),
        ('["2000::/3"]', "policy.trusted_networks[0]", "/16 (policy.trusted_network_min_prefix_v6)"),
        ('["::ffff:0:0/96"]', "policy.trusted_networks[0]", "as broad as an IPv4 /0"),
        ('["2002::/16"]', "policy.trusted_networks[0]", "as broad as an IPv4 /0"),
        ('["64:ff9b::/100"]', "policy.trusted_networks[0]", "as broad as an IPv4 /4"),
        ('["10.0.0.0/8", "11.0.0.0/8"]', "policy.trusted_networks", "together form 10.0.0.0/7"),
        ('["0.0.0.0/1", "128.0.0.0/1"]', "policy.trusted_networks[0]", "0.0.0.0/1"),
    ],
)
def test_trusted_network_broader_than_the_floor_is_refused(
    tmp_path: Path, networks: str, key: str, shown: str
) -> None:
    message = error_of(tmp_path, f"[policy]\ntrusted_networks = {networks}\n")
    assert key in message
    assert shown in message


def test_the_issue_reproduction_exits_4_through_the_cli(tmp_path: Path) -> None:
    text = (
        '[policy]\ntrusted_networks = ["0.0.0.0/0", "::/0"]\n[[endpoints]]\nurl = "https://www.example.nl/"\n'
    )
    run = run_audit(tmp_path, text)
    output = run.stdout + run.stderr
    assert run.returncode == 4, output
    assert "policy.trusted_networks[0]: 0.0.0.0/0" in output
    assert "Traceback" not in output


@pytest.mark.parametrize(
    "networks",
    [
        '["10.0.0.0/8"]',
        '["10.0.0.0/8", "12.0.0.0/8"]',
        '["fd00::/16", "2001:db8::/32"]',
        '["::ffff:192.0.2.0/120"]',
    ],
)
def test_networks_at_or_inside_the_floor_are_accepted(tmp_path: Path, networks: str) -> None:
    policy_of(tmp_path, f"[policy]\ntrusted_networks = {networks}\n")


def test_a_raised_floor_refuses_what_the_default_accepts(tmp_path: Path) -> None:
    text = '[policy]\ntrusted_networks = ["10.0.0.0/8"]\ntrusted_network_min_prefix_v4 = 16\n'
    message = error_of(tmp_path, text)
    assert "policy.trusted_networks[0]: 10.0.0.0/8" in message
    assert "/16 (policy.trusted_network_min_prefix_v4)" in message


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("trusted_network_min_prefix_v4", 0),
        ("trusted_network_min_prefix_v4", 7),
        ("trusted_network_min_prefix_v4", 33),
        ("trusted_network_min_prefix_v6", 15),
        ("trusted_network_min_prefix_v6", 129),
    ],
)
def test_the_floor_itself_must_be_sane(tmp_path: Path, setting: str, value: int) -> None:
    message = error_of(tmp_path, f"[policy]\n{setting} = {value}\n")
    assert f"policy.{setting}: Input should be" in message
    assert "unknown key" not in message


@pytest.mark.parametrize("tag", ["Internet", "*", "Any", "AzureCloud", "AzureCloud.WestEurope"])
def test_service_tag_meaning_anyone_or_any_tenant_cannot_be_trusted(tmp_path: Path, tag: str) -> None:
    message = error_of(tmp_path, f'[policy]\ntrusted_service_tags = ["VirtualNetwork", "{tag}"]\n')
    assert "policy.trusted_service_tags[1]" in message


# --- one definition of "trusted" ---------------------------------------------------------------------

TRUSTED = ["192.0.2.0/24", "198.51.100.0/24", "2001:db8::/32"]


@pytest.mark.parametrize(
    ("cidr", "trusted"),
    [
        ("192.0.2.0/24", True),
        ("192.0.2.128/25", True),
        ("192.0.2.9/32", True),
        ("192.0.2.0/23", False),
        ("192.0.3.0/32", False),
        ("2001:db8:1::/48", True),
        ("2001:db9::/32", False),
        ("0.0.0.0/0", False),
        ("::/0", False),
        ("10.0.0.0/8", False),
    ],
)
def test_every_network_control_judges_a_range_the_same_way(cidr: str, trusted: bool) -> None:
    policy = Policy(trusted_networks=TRUSTED)
    network = ipaddress.ip_network(cidr)
    start, end = str(network[0]), str(network[-1])
    assert is_trusted_network(network, policy) is trusted
    assert (untrusted_rule_reason(start, end, policy) is None) is trusted  # 12b.azure-sql-firewall
    assert (nsg_source_untrusted(cidr, policy) is None) is trusted  # 12b.azure-nsg-admin-ports
    assert (host_remote_untrusted(cidr, policy) is None) is trusted  # 12b.host-port-scope
    storage = verdict(  # 12b.azure-storage-network
        c12b.test_storage_account_accepts_only_trusted_networks, account(ip_rules=rules(cidr)), policy=policy
    )
    assert (storage.status == "pass") is trusted, storage.message


@pytest.mark.parametrize("broad", [["0.0.0.0/0", "::/0"], ["0.0.0.0/1", "128.0.0.0/1"], ["::ffff:0:0/96"]])
def test_a_policy_built_in_code_cannot_trust_the_internet_either(broad: list[str]) -> None:
    # Policy objects built in code skip the config file's check; the controls still refuse to trust.
    policy = Policy(trusted_networks=broad)
    assert trusted_networks(policy) == []
    everyone = ("0.0.0.0", "255.255.255.255")
    assert untrusted_rule_reason(*everyone, policy) is not None
    assert nsg_source_untrusted("0.0.0.0/0", policy) is not None
    assert host_remote_untrusted("0.0.0.0/0", policy) is not None
    assert host_remote_untrusted("203.0.113.0-203.0.113.255", policy) is not None
    storage = verdict(
        c12b.test_storage_account_accepts_only_trusted_networks,
        account(ip_rules=rules("0.0.0.0/0", "203.0.113.7")),
        policy=policy,
    )
    assert storage.status == "fail"


def test_address_trusted_matches_the_range_rule() -> None:
    policy = Policy(trusted_networks=["192.0.2.0/24"])
    assert address_trusted(ipaddress.ip_address("192.0.2.255"), policy)
    assert not address_trusted(ipaddress.ip_address("192.0.3.0"), policy)
    assert range_trusted(ipaddress.ip_address("192.0.2.0"), ipaddress.ip_address("192.0.2.255"), policy)
    assert not range_trusted(ipaddress.ip_address("192.0.2.0"), ipaddress.ip_address("192.0.3.0"), policy)


@pytest.mark.parametrize(
    ("source", "reason"),
    [("*", "any address"), ("Any", "any address"), ("Internet", "the Internet"), ("0.0.0.0/0", "any address"),
     ("::/0", "any address"), ("VirtualNetwork", None), ("192.0.2.0/24", None)],
)  # fmt: skip
def test_words_meaning_anyone_are_classified_once(source: str, reason: str | None) -> None:
    assert anyone_reason(source) == reason


def test_service_tags_are_trusted_only_when_listed_and_never_when_they_mean_anyone() -> None:
    listed = Policy(trusted_service_tags=["VirtualNetwork", "Internet", "AzureCloud"])
    assert service_tag_trusted("virtualnetwork", listed)
    assert not service_tag_trusted("AzureLoadBalancer", listed)
    assert not service_tag_trusted("Internet", listed)
    assert not service_tag_trusted("AzureCloud", listed)
    assert not service_tag_trusted(
        "AzureCloud.westeurope", Policy(trusted_service_tags=["AzureCloud.westeurope"])
    )
    assert nsg_source_untrusted("AzureCloud", listed) == "service tag not in policy.trusted_service_tags"


# --- 4.2 (config side): blanket waivers say so ---------------------------------------------------------

WAIVER = (
    '[[waivers]]\ncontrol = "12e.azure-sql-tde"\n{scope}{resource}'
    'justification = "test subscription only"\napproved_by = "DPO"\nexpires = 2027-01-31\n'
)


@pytest.mark.parametrize("pattern", ["*", "**", "***", "*?", "?*", " * "])
def test_waiver_matching_every_resource_is_refused_unless_scope_is_control(
    tmp_path: Path, pattern: str
) -> None:
    message = error_of(tmp_path, WAIVER.format(scope="", resource=f'resource = "{pattern}"\n'))
    assert "waivers[0].resource" in message
    assert "scope = 'control'" in message


@pytest.mark.parametrize("resource", ["", 'resource = "*"\n'])
def test_blanket_waiver_with_scope_control_is_accepted(tmp_path: Path, resource: str) -> None:
    path = tmp_path / "audit.toml"
    path.write_text(WAIVER.format(scope='scope = "control"\n', resource=resource), encoding="utf-8")
    (waiver,) = load_config(path).waivers
    assert (waiver.scope, waiver.resource) == ("control", "*")


def test_scope_control_with_a_narrower_resource_is_refused(tmp_path: Path) -> None:
    text = WAIVER.format(scope='scope = "control"\n', resource='resource = "*/databases/test"\n')
    assert "waivers[0].resource" in error_of(tmp_path, text)


def test_resource_waiver_without_resource_is_refused(tmp_path: Path) -> None:
    assert "waivers[0].resource" in error_of(tmp_path, WAIVER.format(scope="", resource=""))


def test_blanket_waiver_in_waivers_toml_is_refused_naming_waivers_toml(tmp_path: Path) -> None:
    config = tmp_path / "audit.toml"
    config.write_text("", encoding="utf-8")
    waivers = tmp_path / "waivers.toml"
    waivers.write_text(WAIVER.format(scope="", resource='resource = "*"\n'), encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_config(config)
    assert str(waivers) in str(caught.value)
    assert "waivers[0].resource" in str(caught.value)


@pytest.mark.parametrize(
    ("pattern", "blanket"),
    [("*", True), ("**", True), ("*?*", True), ("*/*", False), ("/subscriptions/*", False), ("?", False),
     ("*/databases/test", False)],
)  # fmt: skip
def test_blanket_pattern(pattern: str, blanket: bool) -> None:
    assert blanket_pattern(pattern) is blanket


def test_waiver_scope_defaults_to_resource() -> None:
    waiver = Waiver(
        control="12e.azure-sql-tde",
        resource="*/x",
        justification="j",
        approved_by="DPO",
        expires=date(2027, 1, 31),
    )
    assert waiver.scope == "resource"
