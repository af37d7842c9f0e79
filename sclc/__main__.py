from sclc.cli import run

run()
