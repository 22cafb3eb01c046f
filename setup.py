"""Packaging for slm_nb, driven by settings.ini (nbdev 2 layout)."""
from configparser import ConfigParser
import setuptools, shlex


config = ConfigParser(delimiters=['='])
config.read('settings.ini', encoding='utf-8')
cfg = config['DEFAULT']

required = 'version description keywords author author_email lib_name user copyright license min_python'.split()
missing = [k for k in required if k not in cfg]
if missing: raise SystemExit(f"settings.ini is missing {missing}")

licenses = {'apache2': ('Apache Software License 2.0', 'OSI Approved :: Apache Software License')}
statuses = ['1 - Planning', '2 - Pre-Alpha', '3 - Alpha', '4 - Beta', '5 - Production/Stable']
py_versions = '3.9 3.10 3.11 3.12 3.13'.split()

def split_reqs(key): return shlex.split(cfg.get(key, ''))

lic = licenses[cfg['license'].lower()]
min_python = cfg['min_python']
entry_points = [o for o in cfg.get('console_scripts', '').split() if o]

setuptools.setup(
    name=cfg['lib_name'],
    version=cfg['version'],
    description=cfg['description'],
    long_description=open('README.md', encoding='utf-8').read(),
    long_description_content_type='text/markdown',
    keywords=cfg['keywords'],
    author=cfg['author'],
    author_email=cfg['author_email'],
    url=cfg['git_url'],
    license=lic[0],
    classifiers=[
        'Development Status :: ' + statuses[int(cfg['status'])],
        'Intended Audience :: ' + cfg['audience'].title(),
        'License :: ' + lic[1],
        'Natural Language :: ' + cfg['language'].title(),
    ] + ['Programming Language :: Python :: ' + v for v in py_versions[py_versions.index(min_python):]],
    packages=setuptools.find_packages(include=[cfg['lib_name'], cfg['lib_name'] + '.*']),
    include_package_data=True,
    install_requires=split_reqs('requirements'),
    extras_require={'dev': split_reqs('dev_requirements')},
    python_requires='>=' + min_python,
    zip_safe=False,
    entry_points={'console_scripts': entry_points, 'nbdev': [f"{cfg['lib_path']}={cfg['lib_path']}._modidx:d"]},
)
