"""Print template.yaml as JSON, CloudFormation tags in their JSON forms ({"Ref": ...},
{"Fn::Sub": ...}). Uses cfn-lint's decoder from the project's venv (installed with the
SAM CLI by local/scripts/install.sh). Used by the local stack (make run) and its tests."""
import json
import sys

from cfnlint.decode import cfn_yaml


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: template-json.py TEMPLATE.yaml", file=sys.stderr)
        return 2
    template = cfn_yaml.load(sys.argv[1])
    json.dump(template, sys.stdout, default=str)
    return 0


if __name__ == "__main__":
    sys.exit(main())
