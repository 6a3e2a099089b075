"""In headless Chromium: the DPO opens the report for the finished demo deployment, sees the charts and
downloads the PDF, whose text carries the figures on the page."""

import re

import pytest
from django.core.management import call_command
from pypdf import PdfReader

from deployments.models import Deployment
from tests.conftest import sign_in
from tools.demo.finished_deployment import TITLE
from tools.demo.people import demo_password

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dpo_reads_and_downloads_the_report(live_server, page, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("demo_setup")
    finished = Deployment.objects.get(title=TITLE)
    sign_in(page, live_server.url, "dpo", demo_password("dpo"))
    page.get_by_test_id("role-navigation").get_by_role("link", name="Retention report").click()
    page.get_by_label("Deployment number (leave empty for all)").fill(str(finished.pk))
    page.get_by_role("button", name="Show").click()
    section = page.get_by_test_id(f"deployment-report-{finished.pk}")
    assert section.is_visible()
    for chart in ("chart-deletions", "chart-held"):
        box = page.get_by_test_id(chart).bounding_box()
        assert box and box["width"] > 300 and box["height"] > 80, chart
    text = section.inner_text()
    evidence = re.search(r"(\d+) frames received, (\d+) processed, (\d+) deleted", text)
    assert evidence and int(evidence.group(1)) == 36  # 18 passers-by, 2 frames each
    assert "Evidence in the arrest case (demo)" in text  # the legal hold, listed as an exception
    figures = page.get_by_test_id(f"passer-by-figures-{finished.pk}").inner_text()
    assert figures.startswith("Per passer-by:") and "false alerts per passer-by:" in figures
    alerts_row = section.get_by_role("row", name=re.compile("Alerts and their probe crops"))
    held, deleted = alerts_row.get_by_role("cell").nth(1).inner_text(), alerts_row.get_by_role("cell").nth(2).inner_text()
    assert (held, deleted) == ("1", "11")
    assert "None overdue" in page.get_by_test_id("overdue-total").inner_text()

    page.get_by_label("Why are you exporting this report?").fill("Monthly assurance report to the SIRO")
    with page.expect_download() as download:
        page.get_by_role("button", name="Download PDF").click()
    pdf_path = tmp_path / "report.pdf"
    download.value.save_as(pdf_path)
    pdf_text = " ".join(p.extract_text() for p in PdfReader(pdf_path).pages)
    assert f"LFR-{finished.pk:05d}" in pdf_text
    assert f"frames received {evidence.group(1)}" in pdf_text and f"deleted {evidence.group(3)}" in pdf_text
    assert "Evidence in the arrest case (demo)" in pdf_text
    assert re.search(r"Alerts and their probe crops\s+1\s+11", pdf_text)
