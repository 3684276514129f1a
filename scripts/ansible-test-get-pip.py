# Offline stand-in for ansible-test's pip bootstrap script (get-pip-<version>.py), which ansible-test
# downloads from a host outside the package registries this project may reach. It does the same job:
# bring pip into ansible-test's empty virtualenv (from the interpreter's bundled ensurepip wheel), then
# install the exact packages ansible-test asks for (e.g. pip==24.2) from the configured package index.
import subprocess
import sys

subprocess.check_call([sys.executable, '-m', 'ensurepip', '--upgrade', '--default-pip'])
# get-pip's own --no-setuptools / --no-wheel switches mean "do not add them": pip install adds neither anyway.
args = [a for a in sys.argv[1:] if not a.startswith('--no-')]
if args:
    subprocess.check_call([sys.executable, '-m', 'pip', 'install'] + args)
