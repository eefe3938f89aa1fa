# SPDX-License-Identifier: Apache-2.0
"""Uploads to a registry as the distribution spec has them: a blob by one
POST and a monolithic PUT with its digest, a manifest by PUT. For tests that
push what skopeo cannot make (Helm charts, cosign signatures, model packages)."""
import base64
import hashlib
import urllib.request


class Registry:
    def __init__(self, addr, userpass=None):
        self.base = f"http://{addr}"
        self.auth = "Basic " + base64.b64encode(userpass.encode()).decode() if userpass else None

    def _req(self, method, url, data=None, ctype=None):
        r = urllib.request.Request(url, data=data, method=method)
        if self.auth:
            r.add_header("Authorization", self.auth)
        if ctype:
            r.add_header("Content-Type", ctype)
        return urllib.request.urlopen(r)

    def put_blob(self, repo, data, media_type=None):
        """Uploads data; returns its descriptor (mediaType when given)."""
        dg = "sha256:" + hashlib.sha256(data).hexdigest()
        loc = self._req("POST", f"{self.base}/v2/{repo}/blobs/uploads/").headers["Location"]
        if loc.startswith("/"):
            loc = self.base + loc
        self._req("PUT", loc + ("&" if "?" in loc else "?") + "digest=" + dg, data, "application/octet-stream")
        d = {"digest": dg, "size": len(data)}
        if media_type:
            d["mediaType"] = media_type
        return d

    def put_manifest(self, repo, ref, body, media_type="application/vnd.oci.image.manifest.v1+json"):
        """PUTs body at tag or digest ref; returns its digest."""
        self._req("PUT", f"{self.base}/v2/{repo}/manifests/{ref}", body, media_type)
        return "sha256:" + hashlib.sha256(body).hexdigest()
