"""Gestational age and HC percentile.

The INTERGROWTH-21st figures are checked against the standard's own published z-score table for
head circumference (INTERGROWTH-21st, "GROW_Fetal-zs_hc_Table.pdf", media.tghn.org, 2017; the
rows for 14+0 to 19+0 weeks as transcribed by the gigs R package, lshtm-gigs/gigs, ig_fet$hcfga).
Hadlock's values are computed by hand from the published equation (Radiology 1984); his paper's
table was not available offline.
"""

from datetime import date

import pytest

from fetalview.core.measure.growth import (GestationalAge, OutOfRange, dated_ga, dates_question,
                                           ga_from_dating_scan, ga_from_lmp, growth_lines,
                                           hadlock_ga, hc_centile, intergrowth_hc_mean_sd,
                                           parse_date, parse_ga)


@pytest.mark.parametrize("text", ["20+3", "20w+3d", "20w3d", "20 weeks 3 days", " 20 + 3 "])
def test_parse_weeks_and_days(text):
    assert parse_ga(text) == GestationalAge(143)
    assert str(parse_ga(text)) == "20w+3d"


@pytest.mark.parametrize("text", ["203", "20+7", "abc", "", "20w+3x"])
def test_parse_refuses_unclear_text(text):
    with pytest.raises(ValueError):
        parse_ga(text)


def test_ga_from_lmp_and_from_a_dating_scan():
    assert ga_from_lmp(date(2026, 1, 1), date(2026, 5, 24)) == GestationalAge(143)
    assert ga_from_dating_scan(date(2026, 3, 1), parse_ga("12+2"), date(2026, 3, 15)) == parse_ga("14+2")
    with pytest.raises(ValueError):
        ga_from_lmp(date(2026, 5, 1), date(2026, 4, 1))


@pytest.mark.parametrize("hc_mm, weeks", [
    (175.0, 20.02),  # 8.96 + 0.540*17.5 + 0.0003*17.5^3 = 20.018
    (100.0, 14.66),  # 8.96 + 5.40 + 0.30
    (300.0, 33.26),  # 8.96 + 16.2 + 8.1
])
def test_hadlock_formula(hc_mm, weeks):
    assert hadlock_ga(hc_mm) == GestationalAge.from_weeks(weeks)


@pytest.mark.parametrize("hc_mm", [60.0, 370.0])
def test_hadlock_refuses_outside_its_range(hc_mm):
    with pytest.raises(OutOfRange, match="outside Hadlock 1984's range"):
        hadlock_ga(hc_mm)


@pytest.mark.parametrize("weeks, mean, sd", [(14, 97.9, 5.58), (20, 172.5, 7.44),
                                              (28, 260.4, 8.94), (40, 333.9, 12.92)])
def test_intergrowth_mean_and_sd(weeks, mean, sd):
    m, s = intergrowth_hc_mean_sd(GestationalAge(weeks * 7))
    assert m == pytest.approx(mean, abs=0.05) and s == pytest.approx(sd, abs=0.005)


# Published INTERGROWTH-21st HC z-score table: GA in days -> HC (mm) at z = -3, -2, ..., +3.
PUBLISHED_HC_ZSCORE_TABLE = {
    98: (81.1, 86.7, 92.3, 97.9, 103.5, 109.0, 114.6),
    105: (92.6, 98.5, 104.4, 110.4, 116.3, 122.2, 128.2),
    112: (104.1, 110.4, 116.6, 122.9, 129.2, 135.5, 141.7),
    119: (115.7, 122.3, 128.8, 135.4, 142.0, 148.6, 155.2),
    126: (127.2, 134.1, 141.0, 147.9, 154.8, 161.7, 168.6),
    133: (138.7, 145.9, 153.1, 160.3, 167.4, 174.6, 181.8),
}


@pytest.mark.parametrize("days, table_row", PUBLISHED_HC_ZSCORE_TABLE.items())
def test_intergrowth_matches_the_published_table(days, table_row):
    ga = GestationalAge(days)
    mean, sd = intergrowth_hc_mean_sd(ga)
    for z, published_mm in zip(range(-3, 4), table_row):
        assert mean + z * sd == pytest.approx(published_mm, abs=0.05)  # the table rounds to 0.1
        assert hc_centile(published_mm, ga).z == pytest.approx(z, abs=0.05 / sd + 1e-9)


def test_intergrowth_centiles():
    ga = GestationalAge(20 * 7)
    mean, sd = intergrowth_hc_mean_sd(ga)
    assert hc_centile(mean, ga).percentile == pytest.approx(50.0)
    assert hc_centile(mean - 1.880794 * sd, ga).percentile == pytest.approx(3.0, abs=0.01)
    assert hc_centile(mean + 1.880794 * sd, ga).percentile == pytest.approx(97.0, abs=0.01)
    assert hc_centile(mean + sd, ga).z == pytest.approx(1.0)
    assert "50th percentile" in hc_centile(mean, ga).line()


@pytest.mark.parametrize("ga", ["13+6", "40+1"])
def test_intergrowth_refuses_outside_14_to_40_weeks(ga):
    with pytest.raises(OutOfRange, match="INTERGROWTH-21st"):
        hc_centile(200.0, parse_ga(ga))


def test_growth_lines_say_what_they_cannot_compute():
    lines = growth_lines(175.0, parse_ga("20+0"))
    assert lines[0].startswith("GA from HC 20w+0d (Hadlock 1984")
    assert "percentile" in lines[1] and "INTERGROWTH-21st" in lines[1]
    assert "no age estimate" in growth_lines(50.0)[0]
    assert "no percentile" in growth_lines(175.0, parse_ga("41+0"))[1]
    assert growth_lines(None) == []


def test_ga_from_the_saved_record():
    from fetalview.core.measure.growth import ga_from_record

    assert ga_from_record(None) is None and ga_from_record({"method": ""}) is None
    assert ga_from_record({"method": "weeks+days", "ga": "20+3"}) == GestationalAge(143)
    assert ga_from_record({"method": "lmp", "lmp": "2026-01-01",
                           "exam_date": "2026-05-24"}) == GestationalAge(143)
    assert ga_from_record({"method": "dating scan", "scan_date": "2026-03-01", "scan_ga": "12+2",
                           "exam_date": "2026-03-15"}) == parse_ga("14+2")
    with pytest.raises(ValueError, match="missing lmp"):
        ga_from_record({"method": "lmp", "exam_date": "2026-05-24"})
    with pytest.raises(ValueError):
        ga_from_record({"method": "lmp", "lmp": "2026-13-01", "exam_date": "2026-05-24"})


def test_growth_is_withheld_while_the_contour_awaits_review():
    assert growth_lines(175.0, parse_ga("20+0"), review_first=True) == [
        "GA and percentile: review the contour first"]


def test_z_beyond_two_is_marked():
    mean, sd = intergrowth_hc_mean_sd(parse_ga("20+0"))
    assert "BEYOND +/-2 SD" in hc_centile(mean - 2.5 * sd, parse_ga("20+0")).line()
    assert "BEYOND" not in hc_centile(mean + 1.5 * sd, parse_ga("20+0")).line()


@pytest.mark.parametrize("text, expected", [("2026-01-20", date(2026, 1, 20)),
                                            (" 2026-1-5 ", date(2026, 1, 5))])
def test_dates_are_read_whole_as_year_month_day(text, expected):
    assert parse_date(text) == expected


@pytest.mark.parametrize("text, words", [("20/01/2026", "year-month-day"),
                                         ("05 01 2026", "year-month-day"),
                                         ("20260120", "year-month-day"), ("", "year-month-day"),
                                         ("2026-02-30", "not a calendar date")])
def test_dates_in_another_form_are_refused_in_words(text, words):
    with pytest.raises(ValueError, match=words):
        parse_date(text, "LMP")


def test_an_age_outside_10_to_43_weeks_or_far_from_hc_is_questioned():
    hc_20_weeks = 175.0  # Hadlock: about 20 weeks
    assert dates_question(parse_ga("20+0"), hc_20_weeks) is None
    assert dates_question(parse_ga("23+0"), hc_20_weeks) is None
    assert "weeks from the age by HC" in dates_question(parse_ga("25+0"), hc_20_weeks)
    assert "outside 10-43 weeks" in dates_question(parse_ga("9+6"), None)
    assert "outside 10-43 weeks" in dates_question(parse_ga("43+1"), None)
    assert dates_question(parse_ga("0+0"), None) is not None  # the old default LMP: today
    assert dates_question(parse_ga("12+0"), None) is None  # no HC in mm: the range only


def test_a_questioned_age_is_not_used_until_the_dates_are_confirmed():
    record = {"method": "weeks+days", "ga": "30+0"}
    ga, question = dated_ga(record, 175.0)
    assert ga is None and "no percentile until they are confirmed" in question
    ga, question = dated_ga({**record, "dates_checked": True}, 175.0)
    assert ga == parse_ga("30+0") and question is None
