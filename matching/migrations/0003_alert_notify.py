"""Every new alert is announced on the PostgreSQL channel `lfr_alerts` when its transaction commits, so a
listener (the pipeline benchmark; a push console) learns of it without polling. The payload names the alert
and its frame, never its content: "<deployment id>:<alert id>:<frame id>"."""

from django.db import migrations

CREATE = """
CREATE FUNCTION lfr_alert_notify() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('lfr_alerts', NEW.deployment_id || ':' || NEW.id || ':' || NEW.frame_id);
    RETURN NULL;
END $$;
CREATE TRIGGER lfr_alert_notify AFTER INSERT ON matching_alert FOR EACH ROW EXECUTE FUNCTION lfr_alert_notify();
"""

DROP = """
DROP TRIGGER IF EXISTS lfr_alert_notify ON matching_alert;
DROP FUNCTION IF EXISTS lfr_alert_notify();
"""


class Migration(migrations.Migration):
    dependencies = [("matching", "0002_alert_deployment_after_id")]

    operations = [migrations.RunSQL(CREATE, DROP)]
