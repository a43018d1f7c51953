# The two commands of the README. Each one first makes the checkout ready (tools/bootstrap.sh).
.PHONY: demo test smoke setup

demo:
	@tools/bootstrap.sh demo
	.venv/bin/hallfleet demo

test:
	@tools/bootstrap.sh test
	.venv/bin/python -m pytest tests

smoke:
	@tools/bootstrap.sh demo
	.venv/bin/hallfleet demo --smoke --data-dir build/smoke-data --http-port 8089 --broker-port 18839

setup:
	@tools/bootstrap.sh test
