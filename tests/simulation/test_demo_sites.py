"""The demo agency works at its county hall and two township stations, next to a
neighbouring county's agency and under a city viewer; the simulated citizens come to the
sites in their shares, and the report breaks the period down by site."""

import datetime
from collections import Counter
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError

from counters.models import Queue, Ticket, Window
from devices.models import HallDevice
from evaluation.periods import Period
from evaluation.selectors import period_report
from ratings.models import Rating
from simulation.hall import HallSimulation
from simulation.report import site_breakdown
from sites.defaults import home_agency_id, home_site_id
from sites.models import Agency, Site
from staff.roles import Role
from staff.scope import scope_of

FIRST, LAST = datetime.date(2018, 6, 25), datetime.date(2018, 6, 26)
STATIONS = {"qili": "七里街道社保所", "jiangnan": "江南镇社保所"}


@pytest.fixture
def seeded(db, settings, tmp_path):
    settings.VAR_DIR = tmp_path / "var"  # the demo logins it prints stay out of the checkout
    output = StringIO()
    call_command("seed_demo", stdout=output)
    return output.getvalue()


def _user(username):
    return get_user_model().objects.get(username=username)


def test_the_demo_agency_has_its_hall_and_two_stations_each_equipped(seeded):
    sites = Site.objects.filter(agency_id=home_agency_id())
    assert {site.code: site.kind for site in sites} == {
        "hall": Site.Kind.HALL, "qili": Site.Kind.STATION, "jiangnan": Site.Kind.STATION,
    }  # fmt: skip
    for code, name in STATIONS.items():
        station = sites.get(code=code)
        assert station.name == name and station.address and station.opening_hours
        windows = Window.objects.filter(site=station)
        assert windows.count() == 2 and {w.queue for w in windows} == {Queue.HALL}
        devices = Counter(HallDevice.objects.filter(site=station).values_list("kind", flat=True))
        assert devices == {HallDevice.Kind.KIOSK: 1, HallDevice.Kind.DISPLAY: 1, "pad": 2}
    assert Window.objects.filter(site_id=home_site_id()).count() == 6


def test_station_clerks_work_at_their_station_and_reviewers_at_the_hall(seeded):
    qili = Site.objects.get(agency_id=home_agency_id(), code="qili")
    assert scope_of(_user("qili_clerk1")).site_ids == {qili.pk}
    assert scope_of(_user("clerk1")).site_ids == {home_site_id()}
    for name in ("reviewer1", "approver1", "leader1"):
        assert list(_user(name).staff_profile.sites.values_list("pk", flat=True)) == [
            home_site_id()
        ]
    # The team lead sees the whole agency: the hall and both stations.
    assert len(scope_of(_user("teamlead")).site_ids) == 3


def test_a_neighbouring_county_is_a_second_agency_isolated_from_the_first(seeded):
    nanbu = Agency.objects.get(code="511321")
    hall = Site.objects.get(agency=nanbu, kind=Site.Kind.HALL)
    assert Window.objects.filter(site=hall).count() == 3
    lead = scope_of(_user("nanbu_lead"))
    assert lead.agency_ids == {nanbu.pk} and lead.site_ids == {hall.pk}
    assert home_agency_id() not in lead.agency_ids
    assert nanbu.pk not in scope_of(_user("teamlead")).agency_ids
    assert Role.REVIEWER in {g.name for g in _user("nanbu_reviewer").groups.all()}


def test_the_city_viewer_sees_every_agency_read_only(seeded):
    scope = scope_of(_user("cityviewer"))
    assert scope.everything and scope.read_only


def test_the_demo_system_administrator_keeps_sites_and_nobody_else(seeded):
    assert _user("sysadmin").has_perm("sites.add_site")
    assert _user("sysadmin").has_perm("sites.change_agency")
    for name in ("secadmin", "teamlead", "cityviewer"):
        assert not _user(name).has_perm("sites.change_site"), name


def test_seed_demo_prints_the_new_accounts_and_the_sites(seeded, settings):
    logins = (settings.VAR_DIR / "demo-logins.txt").read_text()
    for username in ("qili_clerk1", "jiangnan_clerk2", "nanbu_lead", "cityviewer", "clerk1"):
        assert username in seeded and username in logins
    for name in [*STATIONS.values(), "南部县社会保险服务大厅"]:
        assert name in seeded


def test_seed_demo_run_again_makes_no_second_site_window_or_device(seeded):
    counts = (Site.objects.count(), Window.objects.count(), HallDevice.objects.count())
    call_command("seed_demo", stdout=StringIO())
    assert (Site.objects.count(), Window.objects.count(), HallDevice.objects.count()) == counts


def test_arrivals_go_to_the_hall_and_the_stations_in_their_default_shares(seeded):
    simulation = HallSimulation(first=FIRST, last=LAST, seed=7)
    chosen = Counter(simulation._site_choose().code for _ in range(20000))
    assert abs(chosen["hall"] / 20000 - 0.70) < 0.015
    assert abs(chosen["qili"] / 20000 - 0.15) < 0.015
    assert abs(chosen["jiangnan"] / 20000 - 0.15) < 0.015


def test_the_sites_weights_can_be_chosen(seeded):
    simulation = HallSimulation(
        first=FIRST, last=LAST, seed=7, site_weights={"hall": 1, "qili": 1, "jiangnan": 0}
    )
    chosen = Counter(simulation._site_choose().code for _ in range(4000))
    assert "jiangnan" not in chosen
    assert abs(chosen["hall"] / 4000 - 0.5) < 0.04


@pytest.mark.parametrize("weights", [{"nowhere": 1}, {"hall": 0, "qili": 0, "jiangnan": 0}])
def test_weights_of_no_site_of_the_agency_are_refused(seeded, weights):
    with pytest.raises(ValueError):
        HallSimulation(first=FIRST, last=LAST, seed=7, site_weights=weights)


def test_the_command_refuses_badly_written_weights(seeded):
    with pytest.raises(CommandError):
        call_command(
            "simulate_hall", "--from", "2018-06-25", "--to", "2018-06-25",
            "--site-weights", "hall=lots", stdout=StringIO(),
        )  # fmt: skip


def test_a_station_takes_counter_matters_only(seeded):
    simulation = HallSimulation(first=FIRST, last=LAST, seed=7)
    station = Site.objects.get(agency_id=home_agency_id(), code="qili")
    items = [simulation._visit(station)[1] for _ in range(3000)]
    assert all(item.at_counter for item in items if item is not None)
    hall_items = [simulation._visit(simulation.hall)[1] for _ in range(3000)]
    assert any(not item.at_counter for item in hall_items if item is not None)


def test_the_simulation_leaves_the_other_agency_alone(seeded):
    simulation = HallSimulation(first=FIRST, last=LAST, seed=7)
    nanbu_people = {_user(name).pk for name in ("nanbu_clerk1", "nanbu_reviewer", "nanbu_lead")}
    simulated = {user.pk for user in [*simulation.clerks, *simulation.deciders, simulation.lead]}
    assert not nanbu_people & simulated
    assert {window.site.agency_id for window in simulation.windows} == {home_agency_id()}


# --- A simulated period (conftest: two days, about 30 tickets a day) ---------------------


@pytest.mark.django_db(transaction=True)
def test_simulated_citizens_take_their_tickets_at_each_sites_kiosk_in_its_share(simulated):
    issued_at = Counter(
        Ticket.objects.filter(service_date__range=(FIRST, LAST)).values_list(
            "issued_by__site__code", flat=True
        )
    )
    total = sum(issued_at.values())
    assert set(issued_at) == {"hall", "qili", "jiangnan"}
    assert 0.55 <= issued_at["hall"] / total <= 0.85
    assert issued_at["qili"] >= 3 and issued_at["jiangnan"] >= 3


@pytest.mark.django_db(transaction=True)
def test_the_report_breaks_the_period_down_by_site_adding_up_to_the_whole(simulated):
    period = Period(FIRST, LAST)
    rows = site_breakdown(period, agency_id=home_agency_id())
    assert [row["site"].code for row in rows] == ["hall", "jiangnan", "qili"]
    whole = period_report(period, today=datetime.date(2018, 9, 1))
    assert sum(row["tickets"] for row in rows) == whole["tickets"]["issued"]
    assert sum(row["cases_accepted"] for row in rows) == whole["cases"]["accepted"]
    assert sum(row["ratings"] for row in rows) == whole["ratings"]["total"]
    for row in rows:
        site = row["site"]
        tickets = Ticket.objects.filter(site=site, service_date__range=(FIRST, LAST))
        assert row["tickets"] == tickets.count()
        assert row["ratings"] == Rating.objects.filter(ticket__site=site).count()
    assert "By site:" in simulated
    for row in rows:
        assert f"  {row['site'].name}: {row['tickets']} tickets" in simulated
