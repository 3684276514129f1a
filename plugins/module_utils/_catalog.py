# -*- coding: utf-8 -*-
# Copyright (c) mimoe.edge contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
# SPDX-License-Identifier: GPL-3.0-or-later

"""The mim catalog in an OCI registry: artifact layout, publish, browse, resolve, guarded delete.

Private to the collection; the interface can change without notice. The layout is documented in
``docs/catalog.md``:

* a mim image archive (docker-save ``.tar``) is one OCI image manifest with ``artifactType``
  :data:`ARTIFACT_TYPE`, the empty config, and the archive as its only layer (:data:`LAYER_MEDIA_TYPE`);
  it carries no time stamp, so the same archive always gives the same manifest digest;
* a catalog item version is an OCI image index tagged with the version in the repository
  ``[<namespace>/]<item name>``, one entry per architecture (several entries may share one artifact), with
  ``artifactType`` :data:`INDEX_ARTIFACT_TYPE` and annotations (description, mim name, created, image digests).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import datetime
import os
import re

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.mimoe.edge.plugins.module_utils._digest import checked_digest, digest_hex, sha256_file
from ansible_collections.mimoe.edge.plugins.module_utils._errors import InputError, MimoeError
from ansible_collections.mimoe.edge.plugins.module_utils._image_archive import (
    ImageArchiveError,
    image_name_from_tag,
    inspect_image_tar,
)
# registry_argument_spec and client_from_params live with the registry client; the modules import them from here.
from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import (  # noqa: F401 pylint: disable=unused-import
    HAS_ORAS,
    HAS_REQUESTS,
    ORAS_IMPORT_ERROR,
    REQUESTS_IMPORT_ERROR,
    EMPTY_CONFIG,
    EMPTY_DIGEST,
    MEDIA_EMPTY,
    MEDIA_INDEX,
    MEDIA_MANIFEST,
    OCIError,
    canonical_json,
    check_repository,
    check_tag,
    client_from_params,
    registry_argument_spec,
    sha256_digest,
)

ARCHITECTURES = ('amd64', 'arm64', 'arm')
ARTIFACT_TYPE = 'application/vnd.mimoe.edge.mim.v1'
LAYER_MEDIA_TYPE = 'application/vnd.mimoe.edge.mim.image.v1.tar'
INDEX_ARTIFACT_TYPE = 'application/vnd.mimoe.edge.catalog.item.v1'

ANN_TITLE = 'org.opencontainers.image.title'
ANN_DESCRIPTION = 'org.opencontainers.image.description'
ANN_VERSION = 'org.opencontainers.image.version'
ANN_CREATED = 'org.opencontainers.image.created'
ANN_MIM = 'io.mimoe.edge.mim.name'
ANN_IMAGE_NAME = 'io.mimoe.edge.image.name'
ANN_REPO_TAG = 'io.mimoe.edge.image.repo-tag'
ANN_IMAGE_DIGEST = 'io.mimoe.edge.image.digest'
ANN_IMAGE_SIZE = 'io.mimoe.edge.image.size'

# iofogctl CatalogItem image keys -> our architectures (x86 is 64-bit Intel; arm is 32-bit; arm64 is ours).
IOFOG_ARCH_KEYS = (('x86', 'amd64'), ('arm', 'arm'), ('arm64', 'arm64'))
ITEM_NAME_RE = re.compile(r'^[a-z0-9]([a-z0-9-]*[a-z0-9])?$')
# ioFog Controller catalog REST items: images[].fogTypeId 1 is x86, 2 is ARM (32-bit).
IOFOG_FOG_TYPES = {1: 'amd64', 2: 'arm'}
# Index annotations the collection writes itself; a user's annotations may not set them.
RESERVED_ANNOTATIONS = (ANN_MIM, ANN_VERSION, ANN_CREATED, ANN_DESCRIPTION)
# A docker image reference as iofogctl CatalogItems carry them: [host[:port]/]path[:tag][@digest].
DOCKER_REF_RE = re.compile(r'^(?:(?P<host>[^/]+[.:][^/]*|localhost)/)?(?P<path>[a-z0-9]+(?:[._/-]+[a-z0-9]+)*)'
                           r'(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9._-]{0,127}))?$')


# ---------------------------------------------------------------- module plumbing

def require_libraries(module):
    """Fail ``module`` when the registry client's libraries (requests, oras) are missing."""
    if not HAS_REQUESTS:
        module.fail_json(msg=missing_required_lib('requests'), exception=REQUESTS_IMPORT_ERROR)
    if not HAS_ORAS:
        module.fail_json(msg=missing_required_lib('oras'), exception=ORAS_IMPORT_ERROR)


def repository_of(namespace, name):
    namespace = (namespace or '').strip('/')
    repository = '%s/%s' % (namespace, name) if namespace else name
    try:
        check_repository(repository)
    except OCIError as exc:
        raise _input(exc, 'registry.namespace and name')
    return repository


def _input(exc, field):
    """The :class:`InputError` of a name or tag check that failed in the OCI client (bad user input, not a registry
    failure)."""
    return InputError('%s: %s' % (field, exc.message), hint=exc.hint)


def check_version(version, field='version'):
    try:
        check_tag(version)
    except OCIError as exc:
        raise _input(exc, field)


def parse_reference(reference, field='reference'):
    """``name@version`` -> ``(name, version)``."""
    if not isinstance(reference, str) or reference.count('@') != 1 or not all(reference.split('@')):
        raise InputError('%s %r must be <item name>@<version>, for example hello@1.0.0' % (field, reference),
                         hint='the item name and the version as catalog_info lists them')
    name, version = reference.split('@')
    check_item_name(name, field)
    check_version(version, field)
    return name, version


def check_arch(arch, field='arch'):
    if arch not in ARCHITECTURES:
        raise InputError('%s must be one of %s, got %r' % (field, ', '.join(ARCHITECTURES), arch),
                         hint='the node architecture: the simulator fleet inventory calls it mimoe_arch')


def check_item_name(name, field='name'):
    if not isinstance(name, str) or len(name) < 3 or len(name) > 128 or not ITEM_NAME_RE.match(name):
        raise InputError('%s: catalog item name %r must be lowercase letters, digits and -, 3 characters or more, '
                         'starting and ending with a letter or digit (as iofogctl requires)' % (field, name))


def now_rfc3339():
    return datetime.datetime.now(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%SZ')


# ---------------------------------------------------------------- artifacts

def artifact_manifest(image_digest, image_size, image_name, repo_tag):
    """The artifact manifest of one mim archive (deterministic bytes: no time stamp)."""
    version = repo_tag.rpartition(':')[2] if ':' in repo_tag else ''
    layer_annotations = {ANN_TITLE: '%s-%s.tar' % (image_name, version) if version else '%s.tar' % image_name}
    manifest = {
        'schemaVersion': 2,
        'mediaType': MEDIA_MANIFEST,
        'artifactType': ARTIFACT_TYPE,
        'config': {'mediaType': MEDIA_EMPTY, 'digest': EMPTY_DIGEST, 'size': 2, 'data': 'e30='},
        'layers': [{'mediaType': LAYER_MEDIA_TYPE, 'digest': image_digest, 'size': image_size,
                    'annotations': layer_annotations}],
        'annotations': {ANN_IMAGE_NAME: image_name, ANN_REPO_TAG: repo_tag, ANN_VERSION: version},
    }
    return canonical_json(manifest)


def artifact_for_tar(path):
    """Describe a local mim archive and build its artifact manifest (deterministic bytes)."""
    info = inspect_image_tar(path)
    names = [t for t in info['repo_tags'] if not t.startswith('runtime:')] or info['repo_tags']
    repo_tag = names[0]
    raw = artifact_manifest(info['digest'], info['size'], info['name'], repo_tag)
    return dict(kind='tar', path=path, raw=raw, digest=sha256_digest(raw), size=len(raw),
                image_digest=info['digest'], image_size=info['size'], image_name=info['name'], repo_tag=repo_tag)


def layer_of(manifest, where):
    """The mim archive layer of an artifact manifest, or an :class:`OCIError` saying what it is instead."""
    layers = manifest.get('layers') if isinstance(manifest, dict) else None
    if manifest.get('artifactType') != ARTIFACT_TYPE or not isinstance(layers, list) or len(layers) != 1 \
            or not isinstance(layers[0], dict) or layers[0].get('mediaType') != LAYER_MEDIA_TYPE:
        raise OCIError('%s is not a mim image artifact (artifactType %s with one %s layer); it is %s'
                       % (where, ARTIFACT_TYPE, LAYER_MEDIA_TYPE,
                          manifest.get('artifactType') or manifest.get('mediaType') or 'something else'),
                       hint='publish mim archives with mimoe.edge.catalog_item (a local .tar), or reference an '
                            'image of another catalog item')
    return layers[0]


def artifact_for_reference(client, reference, namespace, arch=None, field='image'):
    """An artifact that exists in the registry.

    Accepted forms (repository relative to the registry, the registry host may prefix it):
    ``repo@sha256:<hex>`` (an artifact manifest), ``item@version/arch`` (the image of another catalog item), or a
    docker image reference ``[host/]path:tag`` (iofogctl CatalogItems carry those) that names, in this registry,
    a mim artifact or a catalog version (whose image for ``arch`` is taken).
    """
    ref = reference
    if ref.startswith(client.host + '/'):
        ref = ref[len(client.host) + 1:]
    match = re.match(r'^([^@:]+)@(sha256:[0-9a-f]{64})$', ref)
    if match:
        repository, digest = match.group(1), match.group(2)
    else:
        match = re.match(r'^([^@]+)@([^/@]+)/(%s)$' % '|'.join(ARCHITECTURES), ref)
        if match:
            resolved = resolve(client, namespace, match.group(1), match.group(2), match.group(3))
            repository, digest = resolved['repository'], resolved['manifest_digest']
        else:
            repository, digest = _docker_reference(client, reference, namespace, arch, field)
    try:
        check_repository(repository)
    except OCIError as exc:
        raise _input(exc, field)
    found = client.get_manifest(repository, digest)
    if found is None:
        raise OCIError('%s %s: no manifest %s in %s of %s' % (field, reference, digest, repository, client.url))
    manifest, digest, raw = found
    layer = layer_of(manifest, '%s %s' % (field, reference))
    annotations = manifest.get('annotations') or {}
    return dict(kind='ref', source_repository=repository, reference=reference, raw=raw, digest=digest,
                size=len(raw), image_digest=layer.get('digest'), image_size=layer.get('size'),
                image_name=annotations.get(ANN_IMAGE_NAME, ''), repo_tag=annotations.get(ANN_REPO_TAG, ''),
                blobs=[layer.get('digest'), (manifest.get('config') or {}).get('digest')])


def _docker_reference(client, reference, namespace, arch, field):
    """``(repository, manifest digest)`` of a docker image reference mapped into this registry.

    mimOE nodes run mim archives, not docker images: a reference is accepted only when this registry holds, under
    its path (or under ``registry.namespace``/path) and tag, a mim artifact or a catalog version with an image for
    ``arch``. Anything else is refused with the fix.
    """
    forms = ('a local .tar file, <repository>@sha256:<hex>, <item>@<version>/<arch>, or [host/]path:tag of a mim '
             'archive or catalog version in the registry %s' % client.url)
    match = DOCKER_REF_RE.match(reference)
    if not match:
        raise InputError('%s %r is none of: %s' % (field, reference, forms),
                         hint='give the path of a mim archive on the host that runs the task, or an image already '
                              'in this registry')
    host, path, tag = match.group('host'), match.group('path'), match.group('tag')
    fix = ('mimOE nodes run mim archives (docker-save .tar), not docker images: publish the mim archive to %s first '
           '(catalog_item with image: <file>.tar), or set %s to the path of the .tar' % (client.url, field))
    if host and host != client.host:
        raise InputError('%s %s is a docker image on %s; the catalog registry is %s'
                         % (field, reference, host, client.url), hint=fix)
    if not tag or tag == 'latest':
        raise InputError('%s %s names no version (tag %s)' % (field, reference, tag or 'none, docker means latest'),
                         hint='give the tag of a published version, for example %s:1.0.0; %s' % (path, fix))
    candidates = [path]
    prefix = (namespace or '').strip('/')
    if prefix and not path.startswith(prefix + '/'):
        candidates.append('%s/%s' % (prefix, path))
    for repository in candidates:
        try:
            check_repository(repository)
        except OCIError:
            continue
        found = client.get_manifest(repository, tag)
        if found is None:
            continue
        manifest, digest = found[0], found[1]
        if not is_catalog_index(manifest):
            return repository, digest  # an artifact manifest (checked by the caller) or refused there
        for entry in manifest.get('manifests') or []:
            if (entry.get('platform') or {}).get('architecture') == arch:
                return repository, entry['digest']
        raise InputError('%s %s is the catalog version %s:%s, which has no image for %s'
                         % (field, reference, repository, tag, arch),
                         hint='publish that version for %s, or drop %s' % (arch, field))
    raise InputError('%s %s: the registry %s has no mim archive or catalog version %s'
                     % (field, reference, client.url, ' or '.join('%s:%s' % (c, tag) for c in candidates)), hint=fix)


def artifact_for_source(client, source, namespace, arch=None, field='image'):
    """A local ``.tar`` (an existing file, or any path ending in .tar) or an image already in the registry."""
    if not isinstance(source, str) or not source:
        raise InputError('%s must be a path or a reference string, got %r' % (field, source))
    if source.endswith('.tar') or os.path.isfile(source):
        try:
            return artifact_for_tar(source)
        except ImageArchiveError as exc:
            raise InputError('%s: %s' % (field, exc.message), hint=exc.hint)
    return artifact_for_reference(client, source, namespace, arch, field)


def build_index(name, version, description, artifacts, created, annotations=None):
    """The catalog index of one version; ``artifacts`` is ``{arch: artifact}``; ``annotations`` the user's own."""
    entries = []
    for arch in ARCHITECTURES:
        if arch not in artifacts:
            continue
        artifact = artifacts[arch]
        entries.append({
            'mediaType': MEDIA_MANIFEST,
            'artifactType': ARTIFACT_TYPE,
            'digest': artifact['digest'],
            'size': artifact['size'],
            'platform': {'architecture': arch, 'os': 'linux'},
            'annotations': {ANN_IMAGE_DIGEST: artifact['image_digest'], ANN_IMAGE_SIZE: str(artifact['image_size']),
                            ANN_IMAGE_NAME: artifact['image_name'], ANN_REPO_TAG: artifact['repo_tag']},
        })
    annotations = dict(annotations or {})
    annotations.update({ANN_MIM: name, ANN_VERSION: version, ANN_CREATED: created})
    if description:
        annotations[ANN_DESCRIPTION] = description
    return {'schemaVersion': 2, 'mediaType': MEDIA_INDEX, 'artifactType': INDEX_ARTIFACT_TYPE,
            'manifests': entries, 'annotations': annotations}


def _without_created(index):
    copy = dict(index)
    copy['annotations'] = dict((k, v) for k, v in (index.get('annotations') or {}).items() if k != ANN_CREATED)
    return copy


def is_catalog_index(manifest):
    return isinstance(manifest, dict) and manifest.get('artifactType') == INDEX_ARTIFACT_TYPE \
        and isinstance(manifest.get('manifests'), list)


def describe_index(repository, version, index, digest, registry_url):
    """What ``catalog_info`` and ``catalog_item`` return for one version."""
    annotations = index.get('annotations') or {}
    architectures = {}
    for entry in index.get('manifests') or []:
        arch = (entry.get('platform') or {}).get('architecture')
        if not arch:
            continue
        ann = entry.get('annotations') or {}
        size = ann.get(ANN_IMAGE_SIZE)
        image_digest = ann.get(ANN_IMAGE_DIGEST)
        architectures[arch] = dict(
            manifest_digest=entry.get('digest'),
            image_digest=image_digest,
            size=int(size) if size and size.isdigit() else None,
            image_name=ann.get(ANN_IMAGE_NAME),
            repo_tag=ann.get(ANN_REPO_TAG),
            url='%s/v2/%s/blobs/%s' % (registry_url, repository, image_digest) if image_digest else None,
        )
    return dict(version=version, digest=digest, description=annotations.get(ANN_DESCRIPTION, ''),
                created=annotations.get(ANN_CREATED), mim=annotations.get(ANN_MIM),
                architectures=architectures, annotations=dict(annotations))


def read_version(client, repository, version):
    """``(index, digest)`` of a catalog version, ``(None, None)`` when the tag is missing."""
    found = client.get_manifest(repository, version)
    if found is None:
        return None, None
    index, digest, _raw = found
    if not is_catalog_index(index):
        raise OCIError('%s:%s in %s is not a mim catalog version (artifactType %s); it is %s'
                       % (repository, version, client.url, INDEX_ARTIFACT_TYPE,
                          index.get('artifactType') or index.get('mediaType') or 'unknown'),
                       hint='use another item name or namespace: this repository holds something else')
    return index, digest


# ---------------------------------------------------------------- publish inputs

def _iofog_images(spec, where):
    """``{arch: (source, field)}`` from ``spec.x86``/``spec.arm``/``spec.arm64`` or ``images`` (the Controller's
    REST form, ``[{containerImage, fogTypeId}]``)."""
    images = {}
    for key, arch in IOFOG_ARCH_KEYS:
        value = spec.get(key)
        if value:
            if not isinstance(value, str):
                raise InputError('%s.%s must be a string (an image), got %s' % (where, key, type(value).__name__))
            images[arch] = (value, '%s.%s' % (where, key))
    listed = spec.get('images')
    if listed is not None and not isinstance(listed, list):
        raise InputError('%s.images must be a list of {containerImage, fogTypeId}' % where)
    for position, entry in enumerate(listed or []):
        field = '%s.images[%d]' % (where, position)
        if not isinstance(entry, dict) or not isinstance(entry.get('containerImage'), str):
            raise InputError('%s must be a mapping with containerImage (a string) and fogTypeId' % field)
        arch = IOFOG_FOG_TYPES.get(entry.get('fogTypeId'))
        if arch is None:
            raise InputError('%s.fogTypeId must be 1 (x86, published as amd64) or 2 (ARM, published as arm), got %r'
                             % (field, entry.get('fogTypeId')))
        if arch in images:
            raise InputError('%s gives a second image for %s (fogTypeId %s)' % (field, arch, entry['fogTypeId']),
                             hint='one image per fogTypeId')
        images[arch] = (entry['containerImage'], field + '.containerImage')
    return images


def load_iofog_definition(definition, with_fields=False):
    """Validate an iofogctl ``CatalogItem`` document (or an ioFog Controller catalog item, ``name`` and ``images``)
    -> ``(name, description, {arch: source})`` (and ``{arch: field}`` when ``with_fields``)."""
    if not isinstance(definition, dict):
        raise InputError('definition must be a CatalogItem document (a mapping), got %s' % type(definition).__name__)
    if 'apiVersion' not in definition and 'kind' not in definition and 'images' in definition:
        # The Controller's REST form (GET /api/v3/catalog/microservices): the item itself is the spec.
        name, spec, where = definition.get('name'), definition, 'definition'
    else:
        api_version = definition.get('apiVersion')
        if not isinstance(api_version, str) or not api_version.startswith('iofog.org/'):
            raise InputError('definition.apiVersion must be iofog.org/v3 (or v2), got %r' % (api_version,))
        if definition.get('kind') != 'CatalogItem':
            raise InputError('definition.kind must be CatalogItem, got %r' % (definition.get('kind'),))
        metadata = definition.get('metadata') or {}
        spec = definition.get('spec') or {}
        if not isinstance(metadata, dict) or not isinstance(spec, dict):
            raise InputError('definition.metadata and definition.spec must be mappings')
        name, where = metadata.get('name') or spec.get('name'), 'definition.spec'
    images = _iofog_images(spec, where)
    if not images:
        raise InputError('%s has no image: give spec.x86 and/or spec.arm (spec.arm64 is also accepted), or '
                         'images: [{containerImage, fogTypeId}]' % where)
    description = spec.get('description') or ''
    sources = dict((arch, value[0]) for arch, value in images.items())
    if with_fields:
        return name, description, sources, dict((arch, value[1]) for arch, value in images.items())
    return name, description, sources


def _load_sources(params):
    """``(name, description, {arch: source}, {arch: field}, from_definition)`` from catalog_item's options."""
    name, description = params.get('name'), params.get('description')
    if params.get('definition') is not None or params.get('src'):
        definition = params.get('definition')
        if params.get('src'):
            definition = _read_yaml(params['src'])
        def_name, def_description, images, fields = load_iofog_definition(definition, with_fields=True)
        if name and def_name and name != def_name:
            raise InputError('name is %s but the CatalogItem definition is named %s' % (name, def_name),
                             hint='omit name, or make them the same')
        name = name or def_name
        if description is None:
            description = def_description
        return name, description or '', images, fields, True
    if params.get('image'):
        return (name, description or '', dict((arch, params['image']) for arch in ARCHITECTURES),
                dict((arch, 'image') for arch in ARCHITECTURES), False)
    images = dict((arch, source) for arch, source in (params.get('images') or {}).items() if source)
    for arch in images:
        check_arch(arch, 'images key')
    return name, description or '', images, dict((arch, 'images.%s' % arch) for arch in images), False


def sources_from_params(params):
    """``(name, description, {arch: source})`` from catalog_item's options."""
    return _load_sources(params)[:3]


def _read_yaml(path):
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
        raise InputError('PyYAML is needed to read src')
    try:
        with open(path, 'r') as handle:
            documents = [d for d in yaml.safe_load_all(handle) if d]
    except (IOError, OSError) as exc:
        raise InputError('src: cannot read the CatalogItem file %s: %s' % (path, exc))
    except yaml.YAMLError as exc:
        raise InputError('src: %s is not valid YAML: %s' % (path, exc))
    items = [d for d in documents if isinstance(d, dict) and d.get('kind') == 'CatalogItem']
    if len(items) != 1:
        raise InputError('src: %s must hold exactly one document of kind CatalogItem, found %d' % (path, len(items)))
    return items[0]


def user_annotations(annotations):
    """The ``annotations`` option as strings; the keys the collection writes itself are refused."""
    if annotations is None:
        return None
    result = {}
    for key, value in annotations.items():
        if key in RESERVED_ANNOTATIONS:
            raise InputError('annotations.%s is written by the collection' % key,
                             hint='use description for the description; the name, version and created '
                                  'annotations come from name and version')
        if isinstance(value, (dict, list)) or value is None:
            raise InputError('annotations.%s must be a string, got %s' % (key, type(value).__name__))
        result[str(key)] = value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) \
            else str(value)
    return result


def default_version(artifacts, fields):
    """The version of a CatalogItem published without one: the version of its images (the tag of the RepoTag every
    archive carries, ``hello-v1:1.0.0`` -> ``1.0.0``), which must be one and not ``latest``."""
    found = {}
    for arch, artifact in artifacts.items():
        tag = artifact['repo_tag'].rpartition(':')[2] if ':' in artifact['repo_tag'] else ''
        found.setdefault(tag, []).append(fields.get(arch, arch))
    fix = 'set version (for example version: 1.0.0): it is the tag of the catalog version'
    if len(found) > 1:
        raise InputError('version is not set and the images of the CatalogItem have different versions (%s)'
                         % '; '.join('%s: %s' % (', '.join(sorted(f)), t or 'none') for t, f in sorted(found.items())),
                         hint=fix)
    tag = list(found)[0]
    if not tag or tag == 'latest':
        raise InputError('version is not set and the images of the CatalogItem carry no version (RepoTag tag %s)'
                         % (tag or 'none'), hint=fix)
    check_version(tag, 'the version of the images')
    return tag


def _unique(artifacts):
    seen, unique = set(), []
    for arch in ARCHITECTURES:
        artifact = artifacts.get(arch)
        if artifact is not None and artifact['digest'] not in seen:
            seen.add(artifact['digest'])
            unique.append(artifact)
    return unique


def _arch_text(arch_digests):
    return ', '.join('%s %s' % (a, d) for a, d in sorted(arch_digests.items()))


# ---------------------------------------------------------------- in use

def _digest_hexes(item):
    found = set()
    for value in [item['digest']] + [d for a in item['architectures'].values()
                                     for d in (a['manifest_digest'], a['image_digest'])]:
        if value:
            found.add(digest_hex(value))
    return found


def in_use_matches(name, version, item, in_use):
    """The entries of ``in_use`` that name this version: versions, ``name@version``, or any of its digests."""
    digests = _digest_hexes(item)
    matches = []
    for entry in in_use or []:
        text = str(entry).strip() if entry is not None else ''
        if not text:
            continue
        if version and text in (version, '%s@%s' % (name, version)):
            matches.append(text)
        elif re.match(r'^(sha2\d\d:)?[0-9a-fA-F]{64}$', text) and digest_hex(text) in digests:
            matches.append(text)
        elif '@' in text and re.match(r'^sha2\d\d:', text.split('@', 1)[1]) and digest_hex(text.split('@', 1)[1]) in digests:
            matches.append(text)
    return matches


def _node_label(result, fallback):
    for key in ('node', 'inventory_hostname'):
        if isinstance(result.get(key), str) and result[key]:
            return result[key]
    item = result.get('item')  # a result of a registered loop: the loop item names the node
    if isinstance(item, str) and item:
        return item
    if isinstance(item, dict):
        for key in ('inventory_hostname', 'name', 'node', 'mcm_url'):
            if isinstance(item.get(key), str) and item[key]:
                return item[key]
    args = (result.get('invocation') or {}).get('module_args') or {}
    if isinstance(args, dict) and isinstance(args.get('mcm_url'), str):
        return args['mcm_url']
    return fallback


def fleet_usage(in_use_from):
    """What the fleet runs, from results of ``mimoe.edge.mcm_info``: ``[(node, mim, image name, image digest)]``.

    ``in_use_from`` is a list of results, a registered loop (``{results: [...]}``), or ``{node name: result}``. An
    image counts when a mim of the node uses it; a result without ``mims`` (``mims: false``) counts every image.
    A failed result refuses (what that node runs is unknown); a skipped one is left out.
    """
    if in_use_from is None:
        return []
    if isinstance(in_use_from, dict) and isinstance(in_use_from.get('results'), list):
        entries = [('in_use_from.results[%d]' % i, None, r) for i, r in enumerate(in_use_from['results'])]
    elif isinstance(in_use_from, dict):
        entries = [('in_use_from[%s]' % k, str(k), v) for k, v in sorted(in_use_from.items(), key=lambda kv: str(kv[0]))]
    elif isinstance(in_use_from, list):
        entries = [('in_use_from[%d]' % i, None, r) for i, r in enumerate(in_use_from)]
    else:
        raise InputError('in_use_from must be a list of mimoe.edge.mcm_info results or a mapping node -> result, '
                         'got %s' % type(in_use_from).__name__)
    usage = []
    for field, name, result in entries:
        if isinstance(result, dict) and isinstance(result.get('results'), list):  # a registered loop in a list
            usage.extend(fleet_usage(result))
            continue
        if not isinstance(result, dict) or result.get('skipped'):
            if result is None or (isinstance(result, dict) and result.get('skipped')):
                continue
            raise InputError('%s must be a result of mimoe.edge.mcm_info (a mapping), got %s'
                             % (field, type(result).__name__))
        node = name or _node_label(result, field)
        if result.get('failed') or result.get('unreachable'):
            raise InputError('%s (%s) is a failed mcm_info result: what that node runs is unknown' % (field, node),
                             hint='fix the node and read it again, or leave it out of in_use_from')
        images = result.get('images')
        if not isinstance(images, list):
            raise InputError('%s (%s) is not a result of mimoe.edge.mcm_info: it has no images list' % (field, node),
                             hint='register the result of mimoe.edge.mcm_info and pass it (or a list of them)')
        by_name = {}
        for image in images:
            if not isinstance(image, dict):
                continue
            digest = image.get('digest') or ''
            if not digest and isinstance(image.get('id'), str) and re.match(r'^sha256:[0-9a-f]{64}$', image['id']):
                digest = image['id']  # legacy nodes report the digest as the id
            if digest:
                by_name[image.get('name')] = digest
        mims = result.get('mims')
        if isinstance(mims, list):
            for mim in mims:
                if isinstance(mim, dict) and mim.get('image') in by_name:
                    usage.append((node, mim.get('name') or mim.get('id'), mim['image'], by_name[mim['image']]))
        else:
            usage.extend((node, None, image, digest) for image, digest in sorted(by_name.items(), key=str))
    return usage


def fleet_matches(item, usage):
    """The entries of :func:`fleet_usage` that run an image of ``item``, as ``node: mim (image digest)`` texts."""
    digests = _digest_hexes(item)
    found = []
    for node, mim, image, digest in usage:
        if digest_hex(digest) in digests:
            text = '%s: %s%s (%s)' % (node, 'mim %s, image ' % mim if mim else 'image ', image, digest)
            if text not in found:
                found.append(text)
    return found


# ---------------------------------------------------------------- catalog_item

class CatalogManager(object):
    """What ``mimoe.edge.catalog_item`` does, dispatched on ``state``. Every registry write goes through the
    :class:`Recorder`, which records it and, outside check mode, applies it: one path for real and dry runs."""

    def __init__(self, client, namespace, recorder):
        self.client = client
        self.namespace = namespace
        self.recorder = recorder

    def run(self, params):
        """The module result (without ``changed`` and ``actions``: the recorder holds them)."""
        if params.get('reference'):
            params = dict(params)
            params['name'], params['version'] = parse_reference(params['reference'])
        if params['state'] == 'present':
            return self.present(params)
        return self.absent(params)

    # ------------------------------------------------------------ present

    def present(self, params):
        if params.get('digest'):
            raise InputError('digest selects a manifest to delete: it goes with state=absent',
                             hint='to publish, give version (or reference) and the images')
        name, description, sources, fields, from_definition = _load_sources(params)
        if not name:
            raise InputError('name is required (or a definition with metadata.name)')
        check_item_name(name)
        version = params.get('version')
        if version is None and not from_definition:
            raise InputError('version is required to publish images', hint='set version, for example 1.0.0; only '
                             'a CatalogItem (definition or src) may omit it (its images give the version)')
        if version is not None:
            check_version(version)
        if not sources:
            raise InputError('no image to publish: give images (per architecture), image, definition or src')
        repository = repository_of(self.namespace, name)
        artifacts = self._artifacts(sources, fields)
        if version is None:
            version = default_version(artifacts, fields)
            self.recorder.note('version %s taken from the images of the CatalogItem' % version)
        return self.publish(repository, name, version, description, artifacts,
                            user_annotations(params.get('annotations')), params.get('force'))

    def _artifacts(self, sources, fields):
        artifacts, by_source = {}, {}
        for arch in ARCHITECTURES:
            if arch not in sources:
                continue
            source = sources[arch]
            # a .tar is read once for every architecture; a reference may differ per architecture (a catalog version)
            key = source if source.endswith('.tar') or os.path.isfile(source) else (source, arch)
            if key not in by_source:
                by_source[key] = artifact_for_source(self.client, source, self.namespace, arch,
                                                     fields.get(arch, 'image'))
            artifacts[arch] = by_source[key]
        image_names = set(a['image_name'] for a in artifacts.values() if a['image_name'])
        if len(image_names) > 1:
            raise InputError('the images (%s) have different image names (%s): a node names an image after its '
                             'RepoTag, and all architectures of one version must deploy as the same image'
                             % (', '.join(fields.get(a, a) for a in sorted(artifacts)), ', '.join(sorted(image_names))),
                             hint='publish archives built from the same mim (same name in package.json)')
        return artifacts

    def publish(self, repository, name, version, description, artifacts, annotations=None, force=False):
        """Make ``name:version`` the index of ``artifacts``; ``annotations`` ``None`` keeps the user annotations
        the version has."""
        result = dict(repository=repository, blobs_pushed=0, blobs_skipped=0, blobs_mounted=0, manifests_pushed=0,
                      before={}, after={})
        existing, existing_digest = read_version(self.client, repository, version)
        existing_annotations = (existing.get('annotations') or {}) if existing else {}
        if annotations is None:
            annotations = dict((k, v) for k, v in existing_annotations.items() if k not in RESERVED_ANNOTATIONS)
        desired = build_index(name, version, description, artifacts,
                              existing_annotations.get(ANN_CREATED) if existing else now_rfc3339(), annotations)
        if existing is not None and _without_created(existing) == _without_created(desired):
            result['item'] = describe_index(repository, version, existing, existing_digest, self.client.url)
            return result

        after_arch = dict((a, artifacts[a]['image_digest']) for a in artifacts)
        if existing is not None:
            before = describe_index(repository, version, existing, existing_digest, self.client.url)
            before_arch = dict((a, v['image_digest']) for a, v in before['architectures'].items())
            if before_arch != after_arch and not force:
                raise MimoeError('%s@%s is already published with other images (%s); a published version is not '
                                 'replaced silently' % (name, version, _arch_text(before_arch)),
                                 hint='publish a new version, or set force=true to replace it')
            result['before'] = {'description': before['description'], 'architectures': before_arch}
            result['after'] = {'description': description, 'architectures': after_arch}
            old_user = dict((k, v) for k, v in existing_annotations.items() if k not in RESERVED_ANNOTATIONS)
            if old_user != annotations:
                result['before']['annotations'], result['after']['annotations'] = old_user, annotations
            desired['annotations'][ANN_CREATED] = now_rfc3339()
        else:
            result['before'] = {'state': 'absent'}
            result['after'] = {'state': 'present', 'description': description, 'architectures': after_arch}
            if annotations:
                result['after']['annotations'] = annotations

        for artifact in _unique(artifacts):
            self._push_artifact(repository, artifact, result)
        raw = canonical_json(desired)
        digest = sha256_digest(raw)
        self.recorder.change('pushed index %s:%s (%s)' % (repository, version, digest),
                             self.client.put_manifest, repository, version, raw, MEDIA_INDEX)
        result['manifests_pushed'] += 1
        result['item'] = describe_index(repository, version, desired, digest, self.client.url)
        return result

    def _push_artifact(self, repository, artifact, result):
        client = self.client
        if artifact['kind'] == 'tar':
            blobs = [(artifact['image_digest'], artifact['image_size'], client.push_blob_file,
                      (repository, artifact['path'], artifact['image_digest'], artifact['image_size'])),
                     (EMPTY_DIGEST, len(EMPTY_CONFIG), client.push_blob_bytes, (repository, EMPTY_CONFIG))]
        else:
            blobs = [(artifact['image_digest'], artifact['image_size'], client.mount_blob,
                      (repository, artifact['image_digest'], artifact['source_repository'])),
                     (EMPTY_DIGEST, len(EMPTY_CONFIG), client.mount_blob,
                      (repository, EMPTY_DIGEST, artifact['source_repository']))]
        for digest, size, push, args in blobs:
            if client.blob_exists(repository, digest):  # read-only: the same answer in check mode
                result['blobs_skipped'] += 1
                continue
            if push == client.mount_blob:
                # 'mounted': linked from the source repository by the registry, no bytes sent; True: copied.
                done = self.recorder.change('mounted blob %s from %s' % (digest, args[2]), push, *args)
                result['blobs_pushed' if done is True else 'blobs_skipped' if done is False else 'blobs_mounted'] += 1
            else:
                self.recorder.change('pushed blob %s (%s bytes)' % (digest, size), push, *args)
                result['blobs_pushed'] += 1
        if client.head_manifest(repository, artifact['digest']) is None:
            self.recorder.change('pushed artifact %s (%s)' % (artifact['digest'], artifact['repo_tag']),
                                 client.put_manifest, repository, artifact['digest'], artifact['raw'], MEDIA_MANIFEST)
            result['manifests_pushed'] += 1

    # ------------------------------------------------------------ absent

    def absent(self, params):
        name = _load_sources(params)[0] if (params.get('definition') is not None or params.get('src')) \
            else params.get('name')
        if not name:
            raise InputError('name is required (or a definition with metadata.name)')
        check_item_name(name)
        repository = repository_of(self.namespace, name)
        guard = dict(in_use=params.get('in_use'), usage=fleet_usage(params.get('in_use_from')),
                     force=params.get('force'))
        if params.get('digest'):
            try:
                digest = checked_digest(params['digest'], 'digest')
            except ValueError as exc:
                raise InputError(str(exc), hint='the manifest digest, sha256:<64 hex digits>, as catalog_info '
                                                'returns it (a version digest or an architecture manifest_digest)')
            return self.remove_digest(repository, name, digest, guard)
        if not params.get('version'):
            raise InputError('state=absent needs version (or digest, a manifest digest)')
        check_version(params['version'])
        return self.remove_version(repository, name, params['version'], guard)

    def _versions(self, repository):
        """``[(tag, index, digest)]`` of every catalog version of the repository."""
        versions = []
        for tag in self.client.tags(repository):
            found = self.client.get_manifest(repository, tag)
            if found is not None and is_catalog_index(found[0]):
                versions.append((tag, found[0], found[1]))
        return versions

    def _check_guard(self, name, label, item, guard, version=None):
        matches = in_use_matches(name, version, item, guard['in_use'])
        running = fleet_matches(item, guard['usage'])
        if (matches or running) and not guard['force']:
            what = []
            if running:
                what.append('the fleet runs it: %s' % '; '.join(running))
            if matches:
                what.append('in_use lists %s' % ', '.join(matches))
            raise MimoeError('Refusing to delete %s: it is in use (%s)' % (label, '; '.join(what)),
                             hint='roll the nodes out to another version first, or set force=true')

    def remove_version(self, repository, name, version, guard):
        """Delete ``name:version`` (its index, then the artifacts no other version uses), guarded."""
        result = dict(repository=repository, before={}, after={}, item=None, manifests_deleted=0)
        index, digest = read_version(self.client, repository, version)
        if index is None:
            return result
        item = describe_index(repository, version, index, digest, self.client.url)
        self._check_guard(name, '%s@%s' % (name, version), item, guard, version)
        others = [(t, i, d) for t, i, d in self._versions(repository) if t != version]
        for tag, _other, other_digest in others:
            if other_digest == digest:
                raise MimoeError('%s@%s and %s@%s are the same index (%s): deleting by digest would delete both'
                                 % (name, version, name, tag, digest),
                                 hint='delete them together (state=absent with digest=%s), or re-publish one' % digest)
        still_used = set(e.get('digest') for _t, other, _d in others for e in other.get('manifests') or [])
        result.update(item=item, before={'state': 'present', 'digest': digest}, after={'state': 'absent'})
        self._delete(repository, digest, 'index %s:%s' % (repository, version), result)
        for artifact in sorted(set(a['manifest_digest'] for a in item['architectures'].values()) - still_used):
            self._delete(repository, artifact, 'artifact', result)
        return result

    def remove_digest(self, repository, name, digest, guard):
        """Delete the manifest ``digest`` (seed 004's method): a version's index (with every tag on it and the
        artifacts no other version uses), or an artifact manifest (refused while a version lists it, unless
        ``force``). A digest the repository does not hold changes nothing."""
        result = dict(repository=repository, before={}, after={}, item=None, manifests_deleted=0,
                      versions_deleted=[])
        found = self.client.get_manifest(repository, digest)
        if found is None:
            return result
        manifest = found[0]
        versions = self._versions(repository)
        tagged = [(t, i) for t, i, d in versions if d == digest]
        listing = [t for t, i, d in versions
                   if d != digest and digest in [e.get('digest') for e in i.get('manifests') or []]]
        result['before'] = {'state': 'present', 'digest': digest}
        result['after'] = {'state': 'absent'}
        if tagged:
            items = [describe_index(repository, t, i, digest, self.client.url) for t, i in tagged]
            for tag, item in zip([t for t, _i in tagged], items):
                self._check_guard(name, '%s@%s (%s)' % (name, tag, digest), item, guard, tag)
            tags = [t for t, _i in tagged]
            still_used = set(e.get('digest') for t, i, d in versions if d != digest for e in i.get('manifests') or [])
            result.update(item=items[0], versions_deleted=tags)
            self._delete(repository, digest, 'index %s:%s' % (repository, ','.join(tags)), result)
            artifacts = set(a['manifest_digest'] for item in items for a in item['architectures'].values())
            for artifact in sorted(artifacts - still_used):
                self._delete(repository, artifact, 'artifact', result)
            return result
        if listing and not guard['force']:
            raise MimoeError('Refusing to delete the manifest %s of %s: the versions %s list it (their image would be '
                             'missing)' % (digest, repository, ', '.join('%s@%s' % (name, t) for t in listing)),
                             hint='delete those versions first (state=absent with their version), or set force=true')
        layers = manifest.get('layers') if isinstance(manifest.get('layers'), list) else []
        pseudo = dict(digest=digest, architectures=dict(
            ('layer%d' % i, dict(manifest_digest=digest, image_digest=(layer or {}).get('digest')))
            for i, layer in enumerate(layers)))
        self._check_guard(name, 'the manifest %s of %s' % (digest, repository), pseudo, guard)
        if listing:
            self.recorder.warn('the versions %s of %s list the deleted manifest %s: their image is missing now'
                               % (', '.join(listing), name, digest))
        self._delete(repository, digest, 'manifest', result)
        return result

    def _delete(self, repository, digest, what, result):
        label = '%s (%s)' % (what, digest) if what.startswith('index') else '%s %s' % (what, digest)
        done = self.recorder.change('deleted %s' % label, self.client.delete_manifest, repository, digest)
        if done is not False:  # False: already gone (404); None: check mode
            result['manifests_deleted'] += 1


# ---------------------------------------------------------------- browse and resolve

def version_filter(filters):
    """A predicate over :func:`describe_index` results from catalog_info's ``filters`` (every given filter must
    match), or ``None`` without filters."""
    filters = dict((k, v) for k, v in (filters or {}).items() if v not in (None, [], ''))
    if not filters:
        return None
    wanted = []
    for position, selector in enumerate(filters.get('annotation') or []):
        key, equals, value = str(selector).partition('=')
        if not key.strip():
            raise InputError('filters.annotation[%d] %r must be <key> or <key>=<value>' % (position, selector),
                             hint='for example org.opencontainers.image.source or tier=stable')
        wanted.append((key.strip(), value if equals else None))
    pattern = None
    if filters.get('description_regex'):
        try:
            pattern = re.compile(filters['description_regex'])
        except re.error as exc:
            raise InputError('filters.description_regex %r is not a valid regular expression: %s'
                             % (filters['description_regex'], exc),
                             hint='a Python regular expression, searched anywhere in the description')
    text = (filters.get('description') or '').lower()
    archs = filters.get('architecture') or []

    def matches(version):
        annotations = version.get('annotations') or {}
        for key, value in wanted:
            if key not in annotations or (value is not None and annotations[key] != value):
                return False
        if any(arch not in version['architectures'] for arch in archs):
            return False
        if text and text not in (version['description'] or '').lower():
            return False
        return not pattern or bool(pattern.search(version['description'] or ''))
    return matches


def list_items(client, namespace, name=None, version=None, filters=None):
    """Catalog items (every repository holding catalog indexes, or only ``name``) with their versions; with
    ``filters`` (see :func:`version_filter`), only the versions that match, and only items with one."""
    keep = version_filter(filters)
    if name:
        repositories = [repository_of(namespace, name)]
    else:
        prefix = ((namespace or '').strip('/') + '/') if namespace else ''
        repositories = [r for r in client.repositories() if r.startswith(prefix)]
    items = []
    for repository in repositories:
        versions = []
        tags = [version] if version else client.tags(repository)
        for tag in tags:
            found = client.get_manifest(repository, tag)
            if found is None or not is_catalog_index(found[0]):
                continue
            described = describe_index(repository, tag, found[0], found[1], client.url)
            if keep is None or keep(described):
                versions.append(described)
        if versions or (name and keep is None):
            item_name = repository[len(namespace.strip('/')) + 1:] if namespace else repository
            descriptions = [v['description'] for v in versions if v['description']]
            items.append(dict(name=item_name, repository=repository, versions=versions,
                              description=descriptions[-1] if descriptions else ''))
    return items


def browse(client, namespace, params, check_mode=False):
    """What ``mimoe.edge.catalog_info`` returns: the items, and for one version its images resolved (and with
    ``download``, in the cache; never in check mode)."""
    name, version = params.get('name'), params.get('version')
    if params.get('reference'):
        name, version = parse_reference(params['reference'])
    if (params.get('arch') or params.get('download')) and not version:
        raise InputError('arch and download need one version: give reference (name@version), or name and version')
    if version:
        check_version(version)
    result = dict(items=list_items(client, namespace, name, version, params.get('filters')), downloaded=[])
    if not version:
        return result
    found = result['items'][0]['versions'] if result['items'] else []
    if not found and params.get('filters'):
        result['resolved'] = {}  # the version does not match the filters: nothing to resolve
        return result
    archs = params.get('arch') or (sorted(found[0]['architectures']) if found else ['amd64'])
    resolved = {}
    cache_dir = params.get('cache_dir')
    for arch in archs:
        resolved[arch] = resolve(client, namespace, name, version, arch)
        if params.get('download') and not check_mode:
            path, downloaded = fetch_to_cache(client, resolved[arch], cache_dir)
            resolved[arch].update(path=path, downloaded=downloaded)
            if downloaded:
                result['downloaded'].append(resolved[arch]['image_digest'])
        elif params.get('download'):
            resolved[arch].update(path=os.path.join(cache_dir, '%s.tar' % resolved[arch]['hex']), downloaded=False)
    result['resolved'] = resolved
    return result


def resolve(client, namespace, name, version, arch):
    """The downloadable image of ``name@version`` for ``arch`` (reads the artifact manifest, not annotations)."""
    check_arch(arch)
    repository = repository_of(namespace, name)
    index, digest = read_version(client, repository, version)
    if index is None:
        versions = client.tags(repository)
        raise OCIError('The catalog has no %s@%s in %s (versions: %s)'
                       % (name, version, client.url, ', '.join(versions) or 'none'),
                       hint='publish it with mimoe.edge.catalog_item, or pick a listed version')
    entry = None
    for candidate in index.get('manifests') or []:
        if (candidate.get('platform') or {}).get('architecture') == arch:
            entry = candidate
            break
    if entry is None:
        have = sorted((c.get('platform') or {}).get('architecture') for c in index.get('manifests') or [])
        raise OCIError('%s@%s has no image for the architecture %s (it has %s)'
                       % (name, version, arch, ', '.join(a for a in have if a) or 'none'),
                       hint='publish an image for %s in this version, or exclude those nodes' % arch)
    found = client.get_manifest(repository, entry['digest'])
    if found is None:
        raise OCIError('%s@%s lists the %s artifact %s, which is missing from %s'
                       % (name, version, arch, entry['digest'], repository))
    manifest, manifest_digest, _raw = found
    layer = layer_of(manifest, '%s@%s (%s)' % (name, version, arch))
    annotations = manifest.get('annotations') or {}
    try:
        image_digest = checked_digest(layer.get('digest'), '%s@%s (%s) layer digest' % (name, version, arch))
    except ValueError as exc:
        raise OCIError(str(exc), hint='the registry answered a manifest that was not published by catalog_item')
    repo_tag = annotations.get(ANN_REPO_TAG) or ''
    return dict(name=name, version=version, arch=arch, repository=repository, index_digest=digest,
                manifest_digest=manifest_digest, image_digest=image_digest, hex=digest_hex(image_digest),
                size=layer.get('size'), image_name=annotations.get(ANN_IMAGE_NAME) or image_name_from_tag(repo_tag),
                repo_tag=repo_tag, image_version=repo_tag.rpartition(':')[2] if ':' in repo_tag else '',
                url=client.blob_url(repository, image_digest))


def fetch_to_cache(client, resolved, cache_dir):
    """Make sure ``<cache_dir>/<hex>.tar`` holds the resolved image (download and verify when missing).

    :returns: ``(path, downloaded)``.
    """
    path = os.path.join(cache_dir, '%s.tar' % checked_digest(resolved['image_digest']).split(':', 1)[1])
    try:
        if os.path.isfile(path) and os.path.getsize(path) == resolved['size']:
            if 'sha256:' + sha256_file(path) == resolved['image_digest']:
                return path, False
        if not os.path.isdir(cache_dir):
            os.makedirs(cache_dir, 0o700)
        client.download_blob(resolved['repository'], resolved['image_digest'], path)
    except (IOError, OSError) as exc:
        raise OCIError('Cannot use the image cache %s: %s' % (cache_dir, exc),
                       hint='cache_dir must be a directory this user can create and write, on the host that runs '
                            'the task')
    return path, True


# ---------------------------------------------------------------- releases kept by digest

RELEASES_PREFIX = 'mimoe-releases'


def release_repository(namespace):
    """Where every archive rolled out to a node is kept by digest (one repository for every image: a digest is
    unique), so that any controller, an AWX job with an empty HOME included, can roll back to it."""
    return repository_of(namespace, RELEASES_PREFIX)


def release_tag(image_digest):
    return 'sha256-%s' % digest_hex(image_digest)


def keep_release(client, namespace, image_name, repo_tag, image_digest, image_size, path=None,
                 source_repository=None):
    """Make the registry hold the archive ``image_digest`` (pushed from ``path``, or mounted from
    ``source_repository``) under :func:`release_repository`, with a manifest tagged :func:`release_tag` so that
    registry garbage collection keeps it. Returns ``True`` when something was written."""
    repository = release_repository(namespace)
    if client.blob_exists(repository, image_digest) and client.head_manifest(repository, release_tag(image_digest)):
        return False
    if source_repository:
        client.mount_blob(repository, image_digest, source_repository)
    else:
        client.push_blob_file(repository, path, image_digest, image_size, LAYER_MEDIA_TYPE)
    client.push_blob_bytes(repository, EMPTY_CONFIG, MEDIA_EMPTY)
    raw = artifact_manifest(image_digest, image_size, image_name, repo_tag)
    client.put_manifest(repository, release_tag(image_digest), raw, MEDIA_MANIFEST)
    return True


def release_available(client, namespace, image_digest):
    """Whether the registry holds the archive ``image_digest`` (see :func:`keep_release`)."""
    return bool(client.blob_exists(release_repository(namespace), image_digest))


def fetch_release(client, namespace, image_digest, cache_dir):
    """``<cache_dir>/<hex>.tar`` holding the kept archive ``image_digest``, downloaded (SHA-256 verified) when
    missing. Returns ``(path, downloaded)``."""
    path = os.path.join(cache_dir, '%s.tar' % digest_hex(image_digest))
    if os.path.isfile(path) and 'sha256:' + sha256_file(path) == image_digest:
        return path, False
    if not os.path.isdir(cache_dir):
        os.makedirs(cache_dir, 0o700)
    client.download_blob(release_repository(namespace), image_digest, path)
    return path, True
