from django.core.management.base import BaseCommand

from catalog.reference_data import DEMO_ACCOUNTS, load_reference_data


class Command(BaseCommand):
    help = (
        "Load the taxonomies, vocabularies and source documents from fixtures/ (idempotent). "
        "--with-demo adds the demo mitigations and demo accounts."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--with-demo",
            action="store_true",
            help="Also load the demo mitigations and create the demo accounts.",
        )
        parser.add_argument(
            "--sync",
            action="store_true",
            help=(
                "Bring values the loader wrote earlier in line with newer fixtures. Values an "
                "import, a curator or an admin wrote are never overwritten (--verbosity 2 "
                "lists them)."
            ),
        )

    def handle(self, *args, with_demo, sync, **options):
        report = load_reference_data(with_demo=with_demo, sync=sync)
        for line in report.lines(verbose=options["verbosity"] >= 2):
            self.stdout.write(line)
        if with_demo:
            self.stdout.write("")
            self.stdout.write(self.style.SUCCESS("Demo accounts (this database only):"))
            for account in DEMO_ACCOUNTS:
                self.stdout.write(
                    f"  {account.role:<12} username {account.username:<18} "
                    f"password {account.password}"
                )
