/*
 * The site map: an enhancement of pages that already list everything (see
 * booking/web/site_map.py). Draws the places listed on the page — the GeoJSON in
 * #site-map-data — with Leaflet and marker clusters; a popup shows the place's card from the
 * list; overlays (layer control) ring the places with open volunteer offers ("Mitmachen") and
 * those where organisations meet. Without JavaScript, without Leaflet or without tiles the page
 * stays as it is.
 *
 * Also: "use my location" fills the position fields of the filter, and the admin's site form
 * (#site-map-picker) sets latitude/longitude by a click on the map.
 */
(function () {
  "use strict";

  function tileLayer(element) {
    return L.tileLayer(element.getAttribute("data-tile-url"), {
      maxZoom: 19,
      attribution: element.getAttribute("data-attribution") || ""
    });
  }

  function popupContent(feature) {
    var card = document.getElementById("site-" + feature.id);
    if (card) {
      var copy = card.cloneNode(true);
      copy.removeAttribute("id");
      copy.classList.add("app-site-card--popup");
      return copy;
    }
    var box = document.createElement("div");
    var name = document.createElement("strong");
    name.textContent = feature.properties.name;
    box.appendChild(name);
    if (feature.properties.address) {
      box.appendChild(document.createElement("br"));
      box.appendChild(document.createTextNode(feature.properties.address));
    }
    return box;
  }

  function drawSites() {
    var element = document.getElementById("site-map");
    var data = document.getElementById("site-map-data");
    if (!element || !data || !window.L) return;
    var collection = JSON.parse(data.textContent);
    var located = collection.features.filter(function (f) { return f.geometry && f.geometry.type === "Point"; });
    if (!located.length) return;
    element.hidden = false;
    var map = L.map(element, { scrollWheelZoom: false });
    tileLayer(element).addTo(map);
    var group = L.markerClusterGroup ? L.markerClusterGroup({ showCoverageOnHover: false }) : L.featureGroup();
    located.forEach(function (feature) {
      var lonLat = feature.geometry.coordinates;
      var marker = L.marker([lonLat[1], lonLat[0]], { title: feature.properties.name, alt: feature.properties.name });
      marker.bindPopup(function () { return popupContent(feature); }, { maxWidth: 320 });
      marker.feature = feature;
      group.addLayer(marker);
    });
    map.addLayer(group);
    var overlays = {};
    overlays[element.getAttribute("data-label-sites") || "Places"] = group;
    var offers = offerLayer(located, element.getAttribute("data-label-offers") || "Get involved");
    if (offers) {
      map.addLayer(offers);
      overlays[element.getAttribute("data-label-offers") || "Get involved"] = offers;
      element.setAttribute("data-offer-markers", String(offers.getLayers().length));
    }
    var organisations = organisationLayer(located);
    if (organisations) {
      map.addLayer(organisations);
      overlays[element.getAttribute("data-label-organisations") || "Organisations"] = organisations;
      element.setAttribute("data-organisation-markers", String(organisations.getLayers().length));
    }
    if (offers || organisations) {
      // Open on wide screens; on a phone a button, so the switch does not cover the small map.
      L.control.layers(null, overlays, { collapsed: element.clientWidth < 500 }).addTo(map);
    }
    if (located.length === 1) {
      var only = located[0].geometry.coordinates;
      map.setView([only[1], only[0]], 16);
    } else {
      map.fitBounds(group.getBounds(), { padding: [24, 24], maxZoom: 16 });
    }
    element.siteMap = map;
    element.setAttribute("data-markers", String(located.length));
  }

  /* The "Mitmachen" layer: a ring around each listed place with open volunteer offers (the
     count its card shows); its popup is the place's card, which links to the offers. */
  function offerLayer(located, label) {
    var open = located.filter(function (f) { return f.properties.offers > 0; });
    if (!open.length) return null;
    var layer = L.featureGroup();
    open.forEach(function (feature) {
      var lonLat = feature.geometry.coordinates;
      var marker = L.circleMarker([lonLat[1], lonLat[0]], {
        radius: 20, weight: 4, color: "#B35900", fillColor: "#B35900", fillOpacity: 0.15
      });
      marker.bindTooltip(label + ": " + feature.properties.offers);
      marker.bindPopup(function () { return popupContent(feature); }, { maxWidth: 320 });
      layer.addLayer(marker);
    });
    return layer;
  }

  /* The organisation layer: at each listed place where organisations of the directory meet,
     a marker whose popup names them (the same organisations the list below the map shows). */
  function organisationLayer(located) {
    var meeting = located.filter(function (f) { return f.properties.organisations && f.properties.organisations.length; });
    if (!meeting.length) return null;
    var layer = L.featureGroup();
    meeting.forEach(function (feature) {
      var lonLat = feature.geometry.coordinates;
      var names = feature.properties.organisations.map(function (o) { return o.name; }).join(", ");
      var marker = L.circleMarker([lonLat[1], lonLat[0]], {
        radius: 14, weight: 3, color: "#7B2A8C", fillColor: "#7B2A8C", fillOpacity: 0.25
      });
      marker.bindTooltip(names);
      marker.bindPopup(function () {
        var box = document.createElement("div");
        var heading = document.createElement("strong");
        heading.textContent = feature.properties.name;
        box.appendChild(heading);
        var list = document.createElement("ul");
        feature.properties.organisations.forEach(function (o) {
          var item = document.createElement("li");
          var link = document.createElement("a");
          link.className = "kern-link";
          link.href = "/organisationen/" + o.id;
          link.textContent = o.name;
          item.appendChild(link);
          list.appendChild(item);
        });
        box.appendChild(list);
        return box;
      }, { maxWidth: 320 });
      layer.addLayer(marker);
    });
    return layer;
  }

  function useMyLocation() {
    var button = document.getElementById("use-my-location");
    if (!button || !navigator.geolocation) return;
    var status = document.getElementById("use-my-location-status");
    button.hidden = false;
    button.addEventListener("click", function () {
      navigator.geolocation.getCurrentPosition(function (position) {
        document.getElementById("field-lat").value = position.coords.latitude.toFixed(5);
        document.getElementById("field-lon").value = position.coords.longitude.toFixed(5);
        document.getElementById("field-sort").value = "distance";
        button.form.submit();
      }, function () {
        if (status) status.textContent = button.getAttribute("data-error");
      }, { timeout: 10000, maximumAge: 600000 });
    });
  }

  function pickCoordinates() {
    var element = document.getElementById("site-map-picker");
    if (!element || !window.L) return;
    var latitude = document.getElementById("field-latitude");
    var longitude = document.getElementById("field-longitude");
    if (!latitude || !longitude) return;
    element.hidden = false;
    var hint = document.getElementById("site-map-picker-hint");
    if (hint) hint.hidden = false;
    var map = L.map(element);
    tileLayer(element).addTo(map);
    var marker = null;
    function place(lat, lon) {
      if (marker) marker.setLatLng([lat, lon]); else marker = L.marker([lat, lon]).addTo(map);
    }
    var start = [parseFloat(latitude.value.replace(",", ".")), parseFloat(longitude.value.replace(",", "."))];
    if (isFinite(start[0]) && isFinite(start[1])) {
      place(start[0], start[1]);
      map.setView(start, 16);
    } else {
      map.setView([parseFloat(element.getAttribute("data-lat")), parseFloat(element.getAttribute("data-lon"))], 13);
    }
    map.on("click", function (event) {
      latitude.value = event.latlng.lat.toFixed(6);
      longitude.value = event.latlng.lng.toFixed(6);
      place(event.latlng.lat, event.latlng.lng);
    });
  }

  /* The site form's looked-up places: choosing one also fills the coordinate fields (without
     JavaScript the chosen place is saved as it is). */
  function chooseLookedUpPlace() {
    var choices = document.getElementById("coordinate-choices");
    var latitude = document.getElementById("field-latitude");
    var longitude = document.getElementById("field-longitude");
    if (!choices || !latitude || !longitude) return;
    choices.addEventListener("change", function (event) {
      var chosen = event.target;
      if (!chosen.getAttribute("data-latitude")) return;
      latitude.value = chosen.getAttribute("data-latitude");
      longitude.value = chosen.getAttribute("data-longitude");
    });
  }

  drawSites();
  useMyLocation();
  pickCoordinates();
  chooseLookedUpPlace();
})();
