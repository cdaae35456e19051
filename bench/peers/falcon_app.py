"""Falcon peer: the seed's other stack (Falcon under gunicorn behind NGINX).

Owns only the HTTP edge; the request path is digit_service.py or photo_service.py
(PEER_WORKLOAD=photo), the engine cv2.dnn. Model loaded once per worker.
Run: PEER_MODEL=... gunicorn --chdir bench/peers -w 2 -k gevent falcon_app:app
"""

import json
import os

import falcon

import digit_service
import photo_service

service = photo_service if os.environ.get("PEER_WORKLOAD") == "photo" else digit_service
model = service.load_model("opencv")


class Predict:
    def on_post(self, req, resp):
        try:
            doc = service.predict(model, req.bounded_stream.read())
        except digit_service.BadRequest as e:
            resp.status = falcon.HTTP_400
            doc = {"error": str(e)}
        resp.content_type = falcon.MEDIA_JSON
        resp.text = json.dumps(doc)


class Ready:
    def on_get(self, req, resp):
        resp.content_type = falcon.MEDIA_JSON
        resp.text = '{"ready": true}'


app = falcon.App()
app.add_route("/predict", Predict())
app.add_route("/ready", Ready())
