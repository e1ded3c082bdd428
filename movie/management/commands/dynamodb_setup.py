from django.core.exceptions import ImproperlyConfigured
from django.core.management.base import BaseCommand, CommandError

from movie.clicklog.dynamodb import DynamoDBConfig, create_table, dynamodb_client


class Command(BaseCommand):
    help = "Create the DynamoDB click-log table (DYNAMODB_TABLE) if it is missing."

    def handle(self, *args, **options):
        try:
            config = DynamoDBConfig.from_settings()
            created = create_table(dynamodb_client(config), config.table)
        except ImproperlyConfigured as exc:
            raise CommandError(str(exc)) from exc
        except Exception as exc:  # botocore: endpoint down, bad credentials, ...
            where = config.endpoint_url or f"AWS {config.region}"
            raise CommandError(
                f"DynamoDB at {where} (DYNAMODB_ENDPOINT_URL) failed: {exc}"
            ) from exc
        state = "created" if created else "already exists"
        self.stdout.write(f"DynamoDB table {config.table}: {state}")
