// The resumable upload demo (GET /docs/upload): Uppy's Dashboard sends a file straight to
// S3 in 5 MiB parts, through this API's /v1/uploads routes (Companion's S3 multipart
// protocol: @uppy/aws-s3 in multipart mode, with `endpoint` and a Bearer `headers`), then
// shows the media object the API made of it. web/build.py copies this file and Uppy 5's
// prebuilt bundle (the `Uppy` global) into functions/playground/static/.
//
// Resuming:
// - Pause and resume in the Dashboard: a paused upload asks the API which parts S3 has
//   (GET .../s3/multipart/{uploadId}) and sends only the others.
// - A part that fails is tried again (after 0, 1, 3 and 5 s), the others go on meanwhile.
// - A reload, a closed tab or a crash: Golden Retriever keeps the file (IndexedDB) and the
//   upload's id and key (localStorage) for a day, as long as S3 keeps an unfinished upload;
//   back on this page, the Dashboard offers to resume, and only the missing parts go.
(function () {
  "use strict";

  var MiB = 1024 * 1024;
  var PART_SIZE = 5 * MiB; // S3's smallest part (but the last)
  var MAX_BYTES = 100 * MiB; // the API's largest upload
  var TOKEN_KEY = "imgpro.token";
  var POLL_MS = 500;
  var POLL_FOR_MS = 120 * 1000;

  // The page is `<base>/docs/upload` (`<base>` carries API Gateway's stage, e.g. `/prod`).
  var apiBase = new URL("..", document.baseURI);
  var endpoint = new URL("v1/uploads", apiBase).href;

  var tokenInput = byId("token");
  var partsList = byId("parts");
  var notes = byId("notes");
  var result = byId("result");
  var mediaStatus = byId("media-status");
  var mediaJson = byId("media-json");
  var mediaImage = byId("media-image");
  var mediaLink = byId("media-link");
  var fields = {
    description: byId("description"),
    tags: byId("tags"),
    ttl: byId("ttl"),
    public: byId("public"),
  };

  tokenInput.value = storedToken();

  var uppy = new Uppy.Uppy({
    id: "imgpro-upload", // names what Golden Retriever keeps
    autoProceed: false,
    restrictions: {
      maxFileSize: MAX_BYTES,
      allowedFileTypes: ["image/*", ".heic", ".heif", ".avif"],
    },
    logger: {
      debug: function (message) {
        if (/^\[GoldenRetriever\] Added \d+ blobs?/.test(String(message))) kept();
      },
      warn: function (message) {
        note(String(message));
      },
      error: function () {
        console.error.apply(console, arguments);
      },
    },
  });

  uppy.use(Uppy.Dashboard, {
    inline: true,
    target: "#dashboard",
    width: "100%",
    height: 380,
    showProgressDetails: true,
    proudlyDisplayPoweredByUppy: false,
    note: "Images up to 100 MB, sent to S3 in 5 MiB parts",
  });

  uppy.use(Uppy.AwsS3, {
    endpoint: endpoint,
    headers: authorization(),
    // Every file goes in parts, even one of a single part: the multipart routes are the
    // resumable ones.
    shouldUseMultipart: true,
    getChunkSize: function () {
      return PART_SIZE;
    },
    // What POST /v1/uploads/s3/multipart reads from `metadata` (Uppy's own `name` and
    // `type` travel as `filename` and `type`).
    allowedMetaFields: ["description", "tags", "ttl", "public", "size"],
  });

  uppy.use(Uppy.GoldenRetriever, {
    // Golden Retriever keeps files of up to 10 MiB in IndexedDB unless told otherwise;
    // the API takes 100 MB. (Not in its typings: the options go to its IndexedDB store.)
    indexedDB: { maxFileSize: MAX_BYTES, maxTotalSize: 3 * MAX_BYTES },
  });

  var s3 = uppy.getPlugin("AwsS3Multipart");

  // Say which parts a resumed upload finds already in S3.
  var listParts = s3.opts.listParts;
  s3.setOptions({
    listParts: function (file, options) {
      return Promise.resolve(listParts(file, options)).then(function (parts) {
        var numbers = parts.map(function (part) {
          return part.PartNumber;
        });
        note(
          numbers.length
            ? "Resuming " + file.name + ": S3 already has part" +
                (numbers.length > 1 ? "s " : " ") +
                numbers.join(", ") +
                "."
            : "Resuming " + file.name + ": S3 has no part of it yet."
        );
        numbers.forEach(function (number) {
          showPart(number, partCount(file), "already in S3");
        });
        return parts;
      });
    },
  });

  uppy.addPreProcessor(function () {
    if (!tokenInput.value.trim()) {
      note("Paste an API token first: the upload routes need one with the write ability.");
      tokenInput.focus();
      return Promise.reject(new Error("No API token"));
    }
    return undefined;
  });

  uppy.on("file-added", function (file) {
    // `size` is reserved from the team's quota until the upload completes (without it,
    // the largest upload would be).
    uppy.setFileMeta(file.id, { size: file.size });
  });

  uppy.on("upload", function () {
    partsList.replaceChildren();
    result.hidden = true;
    document.body.dataset.upload = "sending";
  });

  uppy.on("s3-multipart:part-uploaded", function (file, part) {
    showPart(part.PartNumber, partCount(file), "sent");
  });

  uppy.on("upload-success", function (file, response) {
    var body = response.body || {};
    document.body.dataset.upload = "sent";
    delete document.body.dataset.kept; // Golden Retriever lets go of an uploaded file
    showMedia(body.media, "Uploaded: the API is making the media ready…");
    if (response.uploadURL) poll(response.uploadURL, Date.now() + POLL_FOR_MS);
  });

  uppy.on("upload-error", function (file, error) {
    document.body.dataset.upload = "failed";
    var cause = error && error.cause && error.cause.message ? " (" + error.cause.message + ")" : "";
    note((file ? file.name + ": " : "") + (error ? error.message : "failed") + cause);
  });

  uppy.on("restored", function () {
    var files = uppy.getFiles();
    if (files.length) {
      document.body.dataset.upload = "restored";
      note(
        "Restored " +
          files
            .map(function (f) {
              return f.name;
            })
            .join(", ") +
          " from before the page was left: upload to send the parts S3 does not have yet."
      );
    }
  });

  tokenInput.addEventListener("input", function () {
    var token = tokenInput.value.trim();
    try {
      if (token) localStorage.setItem(TOKEN_KEY, token);
      else localStorage.removeItem(TOKEN_KEY);
    } catch (e) {
      // Storage refused (private mode): the token lasts as long as the page.
    }
    s3.setOptions({ headers: authorization() });
  });
  byId("forget-token").addEventListener("click", function () {
    tokenInput.value = "";
    tokenInput.dispatchEvent(new Event("input"));
  });

  Object.keys(fields).forEach(function (name) {
    fields[name].addEventListener("input", applyFields);
    fields[name].addEventListener("change", applyFields);
  });
  applyFields();

  window.uppy = uppy; // for the browser console

  function applyFields() {
    // Merged into the meta of every file, those already added included; an empty field
    // sends nothing, so the API's default applies.
    var meta = {};
    Object.keys(fields).forEach(function (name) {
      var value = fields[name].value.trim();
      meta[name] = value === "" ? undefined : value;
    });
    uppy.setMeta(meta);
  }

  function poll(location, deadline) {
    fetch(location, { headers: authorization() })
      .then(function (response) {
        return response.json().then(function (body) {
          if (!response.ok) throw new Error(body.error || "HTTP " + response.status);
          return body;
        });
      })
      .then(function (media) {
        if (media.status === "processing" && Date.now() < deadline) {
          setTimeout(poll, POLL_MS, location, deadline);
          return;
        }
        if (media.status === "processing") {
          showMedia(media, "Still processing: GET " + location + " later.");
        } else if (media.status === "failed") {
          document.body.dataset.upload = "failed";
          showMedia(media, "The API refused the image: " + (media.failure_reason || "failed"));
        } else {
          document.body.dataset.upload = "ready";
          showMedia(media, "Ready.");
        }
      })
      .catch(function (error) {
        note("GET " + location + ": " + error.message);
      });
  }

  function showMedia(media, status) {
    result.hidden = false;
    result.dataset.status = media ? media.status || "ready" : "unknown";
    mediaStatus.textContent = status;
    mediaJson.textContent = JSON.stringify(media, null, 2);
    if (media && media.src) {
      mediaImage.src = media.src;
      mediaImage.alt = media.description || media.name || "";
      mediaImage.hidden = false;
      mediaLink.href = media.src;
      mediaLink.hidden = false;
    } else {
      mediaImage.removeAttribute("src");
      mediaImage.hidden = true;
      mediaLink.hidden = true;
    }
  }

  function showPart(number, total, what) {
    var item = partsList.querySelector('[data-part="' + number + '"]');
    if (!item) {
      item = document.createElement("li");
      item.dataset.part = String(number);
      var after = Array.prototype.find.call(partsList.children, function (other) {
        return Number(other.dataset.part) > number;
      });
      partsList.insertBefore(item, after || null);
    }
    item.dataset.state = what === "sent" ? "sent" : "kept";
    item.textContent = "Part " + number + (total ? " of " + total : "") + ": " + what;
  }

  function partCount(file) {
    return file.size > PART_SIZE ? Math.ceil(file.size / PART_SIZE) : 1;
  }

  function kept() {
    document.body.dataset.kept = "true";
    note("The file is kept in this browser until it is uploaded: a reload resumes it.");
  }

  function note(text) {
    var item = document.createElement("li");
    item.textContent = text;
    notes.appendChild(item);
  }

  function authorization() {
    var token = tokenInput.value.trim();
    return token ? { Authorization: "Bearer " + token } : {};
  }

  function storedToken() {
    try {
      var own = localStorage.getItem(TOKEN_KEY);
      if (own) return own;
      // The playground's Authorize keeps it here (Swagger UI's persistAuthorization).
      var swagger = JSON.parse(localStorage.getItem("authorized") || "{}");
      var value = swagger.bearerAuth && swagger.bearerAuth.value;
      return typeof value === "string" ? value : "";
    } catch (e) {
      return "";
    }
  }

  function byId(id) {
    return document.getElementById(id);
  }
})();
