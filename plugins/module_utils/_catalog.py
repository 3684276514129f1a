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

from ansible.module_utils.basic import env_fallback

from ansible_collections.mimoe.edge.plugins.module_utils._digest import checked_digest, sha256_file
from ansible_collections.mimoe.edge.plugins.module_utils._mcm_client import (
    MCMTarError,
    digest_hex,
    image_name_from_tag,
    inspect_image_tar,
)
from ansible_collections.mimoe.edge.plugins.module_utils._oci_client import (
    EMPTY_CONFIG,
    EMPTY_DIGEST,
    MEDIA_EMPTY,
    MEDIA_INDEX,
    MEDIA_MANIFEST,
    OCIClient,
    OCIError,
    canonical_json,
    check_repository,
    check_tag,
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


# ---------------------------------------------------------------- module plumbing

def registry_argument_spec(apply_defaults=True):
    """The ``registry`` option (documented in the ``mimoe.edge.registry`` doc fragment)."""
    return dict(registry=dict(type='dict', apply_defaults=apply_defaults, options=dict(
        url=dict(type='str', required=True, fallback=(env_fallback, ['MIMOE_REGISTRY_URL'])),
        username=dict(type='str', fallback=(env_fallback, ['MIMOE_REGISTRY_USERNAME'])),
        password=dict(type='str', no_log=True, fallback=(env_fallback, ['MIMOE_REGISTRY_PASSWORD'])),
        namespace=dict(type='str', default='', fallback=(env_fallback, ['MIMOE_REGISTRY_NAMESPACE'])),
        validate_certs=dict(type='bool', default=True),
        ca_path=dict(type='path'),
        timeout=dict(type='float', default=30.0),
    )))


def client_from_params(registry):
    """An :class:`OCIClient` from the ``registry`` option (a dict)."""
    return OCIClient(registry['url'], username=registry.get('username'), password=registry.get('password'),
                     validate_certs=registry.get('validate_certs', True), ca_path=registry.get('ca_path'),
                     timeout=registry.get('timeout') or 30.0)


def repository_of(namespace, name):
    namespace = (namespace or '').strip('/')
    repository = '%s/%s' % (namespace, name) if namespace else name
    check_repository(repository)
    return repository


def parse_reference(reference):
    """``name@version`` -> ``(name, version)``."""
    if not isinstance(reference, str) or reference.count('@') != 1:
        raise OCIError('catalog reference %r must be <item name>@<version>, for example hello@1.0.0' % (reference,))
    name, version = reference.split('@')
    if not name or not version:
        raise OCIError('catalog reference %r must be <item name>@<version>' % (reference,))
    check_item_name(name)
    check_tag(version)
    return name, version


def check_arch(arch, field='arch'):
    if arch not in ARCHITECTURES:
        raise OCIError('%s must be one of %s, got %r' % (field, ', '.join(ARCHITECTURES), arch),
                       hint='the node architecture: the simulator fleet inventory calls it mimoe_arch')


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


def artifact_for_reference(client, reference, namespace):
    """An artifact that exists in the registry: ``<repo>@sha256:...``, ``<repo>:<tag>@<arch>`` style refs.

    Accepted forms (repository relative to the registry, the registry host may prefix it):
    ``repo@sha256:<hex>`` (an artifact manifest), or ``item@version/arch`` (the image of another catalog item).
    """
    ref = reference
    if ref.startswith(client.host + '/'):
        ref = ref[len(client.host) + 1:]
    match = re.match(r'^([^@:]+)@(sha256:[0-9a-f]{64})$', ref)
    if match:
        repository, digest = match.group(1), match.group(2)
    else:
        match = re.match(r'^([^@]+)@([^/@]+)/(%s)$' % '|'.join(ARCHITECTURES), ref)
        if not match:
            raise OCIError('image reference %r is neither a local .tar file nor <repository>@sha256:<hex> nor '
                           '<item>@<version>/<arch> in the registry %s' % (reference, client.url),
                           hint='give the path of a mim archive on the host that runs the task, or an image '
                                'already in this registry')
        resolved = resolve(client, namespace, match.group(1), match.group(2), match.group(3))
        repository, digest = resolved['repository'], resolved['manifest_digest']
    check_repository(repository)
    found = client.get_manifest(repository, digest)
    if found is None:
        raise OCIError('image reference %s: no manifest %s in %s of %s' % (reference, digest, repository, client.url))
    manifest, digest, raw = found
    layer = layer_of(manifest, 'image reference %s' % reference)
    annotations = manifest.get('annotations') or {}
    return dict(kind='ref', source_repository=repository, reference=reference, raw=raw, digest=digest,
                size=len(raw), image_digest=layer.get('digest'), image_size=layer.get('size'),
                image_name=annotations.get(ANN_IMAGE_NAME, ''), repo_tag=annotations.get(ANN_REPO_TAG, ''),
                blobs=[layer.get('digest'), (manifest.get('config') or {}).get('digest')])


def artifact_for_source(client, source, namespace):
    """A local ``.tar`` (an existing file, or any path ending in .tar) or an image already in the registry."""
    if not isinstance(source, str) or not source:
        raise OCIError('an image must be a path or a reference string, got %r' % (source,))
    if source.endswith('.tar') or os.path.isfile(source):
        try:
            return artifact_for_tar(source)
        except MCMTarError as exc:
            raise OCIError(str(exc))
    return artifact_for_reference(client, source, namespace)


def build_index(name, version, description, artifacts, created):
    """The catalog index of one version; ``artifacts`` is ``{arch: artifact}``."""
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
    annotations = {ANN_MIM: name, ANN_VERSION: version, ANN_CREATED: created}
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
                architectures=architectures)


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


# ---------------------------------------------------------------- publish

def load_iofog_definition(definition):
    """Validate an iofogctl ``CatalogItem`` document -> ``(name, description, {arch: source})``."""
    if not isinstance(definition, dict):
        raise OCIError('definition must be a CatalogItem document (a mapping), got %s' % type(definition).__name__)
    api_version = definition.get('apiVersion')
    if not isinstance(api_version, str) or not api_version.startswith('iofog.org/'):
        raise OCIError('definition.apiVersion must be iofog.org/v3 (or v2), got %r' % (api_version,))
    if definition.get('kind') != 'CatalogItem':
        raise OCIError('definition.kind must be CatalogItem, got %r' % (definition.get('kind'),))
    metadata = definition.get('metadata') or {}
    spec = definition.get('spec') or {}
    if not isinstance(metadata, dict) or not isinstance(spec, dict):
        raise OCIError('definition.metadata and definition.spec must be mappings')
    name = metadata.get('name') or spec.get('name')
    images = {}
    for key, arch in IOFOG_ARCH_KEYS:
        value = spec.get(key)
        if value:
            if not isinstance(value, str):
                raise OCIError('definition.spec.%s must be a string (an image), got %s' % (key, type(value).__name__))
            images[arch] = value
    if not images:
        raise OCIError('definition.spec has no image: give spec.x86 and/or spec.arm (spec.arm64 is also accepted)')
    return name, spec.get('description') or '', images


def check_item_name(name):
    if not isinstance(name, str) or len(name) < 3 or len(name) > 128 or not ITEM_NAME_RE.match(name):
        raise OCIError('catalog item name %r must be lowercase letters, digits and -, 3 characters or more, '
                       'starting and ending with a letter or digit (as iofogctl requires)' % (name,))


def sources_from_params(params):
    """``(name, description, {arch: source})`` from catalog_item's options."""
    name, description = params.get('name'), params.get('description')
    if params.get('definition') is not None or params.get('src'):
        definition = params.get('definition')
        if params.get('src'):
            definition = _read_yaml(params['src'])
        def_name, def_description, images = load_iofog_definition(definition)
        if name and def_name and name != def_name:
            raise OCIError('name is %s but the CatalogItem definition is named %s' % (name, def_name),
                           hint='omit name, or make them the same')
        name = name or def_name
        if description is None:
            description = def_description
        return name, description or '', images
    if params.get('image'):
        return name, description or '', dict((arch, params['image']) for arch in ARCHITECTURES)
    images = dict((arch, source) for arch, source in (params.get('images') or {}).items() if source)
    for arch in images:
        check_arch(arch, 'images key')
    return name, description or '', images


def _read_yaml(path):
    try:
        import yaml
    except ImportError:  # pragma: no cover - PyYAML ships with ansible-core
        raise OCIError('PyYAML is needed to read src')
    try:
        with open(path, 'r') as handle:
            documents = [d for d in yaml.safe_load_all(handle) if d]
    except (IOError, OSError) as exc:
        raise OCIError('Cannot read the CatalogItem file %s: %s' % (path, exc))
    except yaml.YAMLError as exc:
        raise OCIError('%s is not valid YAML: %s' % (path, exc))
    items = [d for d in documents if isinstance(d, dict) and d.get('kind') == 'CatalogItem']
    if len(items) != 1:
        raise OCIError('%s must hold exactly one document of kind CatalogItem, found %d' % (path, len(items)))
    return items[0]


def publish(client, namespace, name, version, description, sources, force=False, check_mode=False):
    """Make ``name:version`` the index of ``sources`` (``{arch: path or reference}``).

    :returns: dict with ``changed``, ``item`` (as :func:`describe_index`), ``before``/``after`` for the diff,
              ``blobs_pushed``, ``blobs_skipped``, ``manifests_pushed`` and ``actions``.
    """
    check_item_name(name)
    check_tag(version)
    if not sources:
        raise OCIError('no image to publish: give images (per architecture), image, definition or src')
    repository = repository_of(namespace, name)
    artifacts = {}
    by_source = {}
    for arch in ARCHITECTURES:
        if arch in sources:
            source = sources[arch]
            if source not in by_source:
                by_source[source] = artifact_for_source(client, source, namespace)
            artifacts[arch] = by_source[source]
    image_names = set(a['image_name'] for a in artifacts.values() if a['image_name'])
    if len(image_names) > 1:
        raise OCIError('the images of %s@%s have different image names (%s): a node names an image after its '
                       'RepoTag, and all architectures of one version must deploy as the same image'
                       % (name, version, ', '.join(sorted(image_names))))

    result = dict(changed=False, repository=repository, blobs_pushed=0, blobs_skipped=0, blobs_mounted=0,
                  manifests_pushed=0, actions=[], before={}, after={})
    existing, existing_digest = read_version(client, repository, version)
    desired = build_index(name, version, description, artifacts,
                          (existing.get('annotations') or {}).get(ANN_CREATED) if existing else now_rfc3339())
    if existing is not None and _without_created(existing) == _without_created(desired):
        result['item'] = describe_index(repository, version, existing, existing_digest, client.url)
        return result

    before = describe_index(repository, version, existing, existing_digest, client.url) if existing else None
    after_arch = dict((a, artifacts[a]['image_digest']) for a in artifacts)
    if before is not None:
        before_arch = dict((a, v['image_digest']) for a, v in before['architectures'].items())
        if before_arch != after_arch and not force:
            raise OCIError('%s@%s is already published with other images (%s); a published version is not '
                           'replaced silently' % (name, version, _arch_text(before_arch)),
                           hint='publish a new version, or set force=true to replace it')
        result['before'] = {'description': before['description'], 'architectures': before_arch}
        result['after'] = {'description': description, 'architectures': after_arch}
        desired['annotations'][ANN_CREATED] = now_rfc3339()
    else:
        result['before'] = {'state': 'absent'}
        result['after'] = {'state': 'present', 'description': description, 'architectures': after_arch}

    raw = canonical_json(desired)
    result['changed'] = True
    if check_mode:
        for artifact in _unique(artifacts):
            result['actions'].append('push artifact %s (%s)' % (artifact['digest'], artifact['repo_tag']))
        result['actions'].append('push index %s:%s' % (repository, version))
        result['item'] = describe_index(repository, version, desired, sha256_digest(raw), client.url)
        return result

    for artifact in _unique(artifacts):
        if artifact['kind'] == 'tar':
            pushed_layer = client.push_blob_file(repository, artifact['path'], artifact['image_digest'],
                                                 artifact['image_size'])
            pushed_config = client.push_blob_bytes(repository, EMPTY_CONFIG)
        else:
            pushed_layer = client.mount_blob(repository, artifact['image_digest'], artifact['source_repository'])
            pushed_config = client.mount_blob(repository, EMPTY_DIGEST, artifact['source_repository'])
        for pushed in (pushed_layer, pushed_config):
            # True: uploaded; 'mounted': linked from the source repository by the registry, no bytes sent.
            result['blobs_mounted' if pushed == 'mounted' else 'blobs_pushed' if pushed else 'blobs_skipped'] += 1
        if pushed_layer:
            result['actions'].append('pushed blob %s (%s bytes)' % (artifact['image_digest'], artifact['image_size']))
        if client.head_manifest(repository, artifact['digest']) is None:
            client.put_manifest(repository, artifact['digest'], artifact['raw'], MEDIA_MANIFEST)
            result['manifests_pushed'] += 1
            result['actions'].append('pushed artifact %s (%s)' % (artifact['digest'], artifact['repo_tag']))
    digest = client.put_manifest(repository, version, raw, MEDIA_INDEX)
    result['manifests_pushed'] += 1
    result['actions'].append('pushed index %s:%s (%s)' % (repository, version, digest))
    result['item'] = describe_index(repository, version, desired, digest, client.url)
    return result


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


# ---------------------------------------------------------------- delete

def in_use_matches(name, version, item, in_use):
    """The entries of ``in_use`` that name this version: versions, ``name@version``, or any of its digests."""
    digests = set()
    for value in [item['digest']] + [d for a in item['architectures'].values()
                                     for d in (a['manifest_digest'], a['image_digest'])]:
        if value:
            digests.add(digest_hex(value))
    matches = []
    for entry in in_use or []:
        text = str(entry).strip()
        if not text:
            continue
        if text in (version, '%s@%s' % (name, version)):
            matches.append(text)
        elif re.match(r'^(sha2\d\d:)?[0-9a-fA-F]{64}$', text) and digest_hex(text) in digests:
            matches.append(text)
        elif '@' in text and re.match(r'^sha2\d\d:', text.split('@', 1)[1]) and digest_hex(text.split('@', 1)[1]) in digests:
            matches.append(text)
    return matches


def remove(client, namespace, name, version, in_use=None, force=False, check_mode=False):
    """Delete ``name:version`` (its index, then the artifacts no other version uses), guarded by ``in_use``."""
    check_item_name(name)
    check_tag(version)
    repository = repository_of(namespace, name)
    result = dict(changed=False, repository=repository, actions=[], before={}, after={}, item=None,
                  manifests_deleted=0)
    index, digest = read_version(client, repository, version)
    if index is None:
        return result
    item = describe_index(repository, version, index, digest, client.url)
    matches = in_use_matches(name, version, item, in_use)
    if matches and not force:
        raise OCIError('Refusing to delete %s@%s: it is in use (%s)' % (name, version, ', '.join(matches)),
                       hint='roll the nodes out to another version first, or set force=true')
    others = [t for t in client.tags(repository) if t != version]
    still_used = set()
    for tag in others:
        found = client.get_manifest(repository, tag)
        if found is None:
            continue
        other, other_digest = found[0], found[1]
        if other_digest == digest:
            raise OCIError('%s@%s and %s@%s are the same index (%s): deleting by digest would delete both'
                           % (name, version, name, tag, digest), hint='delete them together, or re-publish one')
        for entry in other.get('manifests') or []:
            still_used.add(entry.get('digest'))
    result.update(changed=True, item=item, before={'state': 'present', 'digest': digest}, after={'state': 'absent'})
    artifacts = sorted(set(a['manifest_digest'] for a in item['architectures'].values()) - still_used)
    if check_mode:
        result['actions'].append('delete index %s:%s (%s)' % (repository, version, digest))
        result['actions'].extend('delete artifact %s' % d for d in artifacts)
        return result
    client.delete_manifest(repository, digest)
    result['manifests_deleted'] += 1
    result['actions'].append('deleted index %s:%s (%s)' % (repository, version, digest))
    for artifact in artifacts:
        if client.delete_manifest(repository, artifact):
            result['manifests_deleted'] += 1
            result['actions'].append('deleted artifact %s' % artifact)
    return result


# ---------------------------------------------------------------- browse and resolve

def list_items(client, namespace, name=None, version=None):
    """Catalog items (every repository holding catalog indexes, or only ``name``) with their versions."""
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
            versions.append(describe_index(repository, tag, found[0], found[1], client.url))
        if versions or name:
            item_name = repository[len(namespace.strip('/')) + 1:] if namespace else repository
            descriptions = [v['description'] for v in versions if v['description']]
            items.append(dict(name=item_name, repository=repository, versions=versions,
                              description=descriptions[-1] if descriptions else ''))
    return items


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
