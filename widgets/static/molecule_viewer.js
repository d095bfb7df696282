// Front end of widgets.MoleculeViewer (an anywidget).
//
// This file is appended to the bundled 3Dmol.js ES module (widgets/static/3Dmol.es6-min.js), so `createViewer`
// below is that module's own top-level function: nothing is loaded from the network. Everything declared here
// sits inside one uniquely named object to avoid clashing with the library's top-level names.
//
// Model traits: positions [[x, y, z], ...] (Angstrom), symbols ["C", ...], draw_style (preset name; not "style",
// which ipywidgets' DOMWidgetView reads as a style-model reference), arrows
// [{start, end, color, radius}], height (px), background (CSS colour), frames (a trajectory: one positions list
// per frame, empty for one structure), frame (the frame shown; the slider under the view sets it) and highlight
// (atom indices drawn in HIGHLIGHT_COLOR, the preset's shapes kept).

const __workbenchMoleculeViewer = (() => {
  const STYLES = {
    ball_and_stick: { stick: { radius: 0.14 }, sphere: { scale: 0.25 } },
    stick: { stick: { radius: 0.2 } },
    sphere: { sphere: { scale: 0.9 } },
    line: { line: { linewidth: 2 } },
  };
  const HIGHLIGHT_COLOR = "#ff00ff";

  // The preset with every part drawn in the highlight colour.
  function highlighted(style) {
    const out = {};
    for (const [key, spec] of Object.entries(style)) out[key] = { ...spec, color: HIGHLIGHT_COLOR };
    return out;
  }

  function toXYZ(symbols, positions) {
    const lines = [String(symbols.length), "workbench"];
    for (let i = 0; i < symbols.length; i++) {
      const p = positions[i];
      lines.push(`${symbols[i]} ${p[0]} ${p[1]} ${p[2]}`);
    }
    return lines.join("\n") + "\n";
  }

  // Which GL context draws this view ("webgl2", "webgl" or "none"); 3Dmol may render through a shared
  // OffscreenCanvas and copy the picture into the visible canvas, so this is not visible on the canvas itself.
  function contextKind(viewer) {
    const gl = viewer.getRenderer && viewer.getRenderer().getContext();
    if (!gl) return "none";
    return typeof WebGL2RenderingContext !== "undefined" && gl instanceof WebGL2RenderingContext ? "webgl2" : "webgl";
  }

  // The positions to draw: the current frame of a trajectory (drawn at once, before the kernel answers), else
  // the positions trait.
  function currentPositions(model) {
    const frames = model.get("frames") || [];
    const frame = model.get("frame") || 0;
    return frames.length > 0 && frame < frames.length ? frames[frame] : model.get("positions") || [];
  }

  function draw(viewer, model, container, first) {
    const symbols = model.get("symbols") || [];
    const positions = currentPositions(model);
    viewer.removeAllModels();
    viewer.removeAllShapes();
    viewer.setBackgroundColor(model.get("background") || "white");
    if (symbols.length > 0 && symbols.length === positions.length) {
      viewer.addModel(toXYZ(symbols, positions), "xyz");
      const style = STYLES[model.get("draw_style")] || STYLES.ball_and_stick;
      viewer.setStyle({}, style);
      const chosen = new Set((model.get("highlight") || []).filter((i) => i < symbols.length));
      if (chosen.size > 0) viewer.setStyle({ predicate: (atom) => chosen.has(atom.index) }, highlighted(style));
    }
    for (const arrow of model.get("arrows") || []) {
      const [sx, sy, sz] = arrow.start;
      const [ex, ey, ez] = arrow.end;
      viewer.addArrow({
        start: { x: sx, y: sy, z: sz },
        end: { x: ex, y: ey, z: ez },
        radius: arrow.radius ?? 0.08,
        color: arrow.color ?? "red",
      });
    }
    // isosurfaces of volumetric data (e.g. molecular orbitals) from Gaussian cube text
    for (const vol of model.get("volumes") || []) {
      viewer.addVolumetricData(vol.cube, "cube", { isoval: vol.isoval, color: vol.color ?? "red",
        opacity: vol.opacity ?? 0.8 });
    }
    if (first) viewer.zoomTo();
    viewer.render();
    const count = Number(container.dataset.renderCount || "0") + 1;
    container.dataset.renderCount = String(count);
    container.dataset.atoms = String(symbols.length);
    container.dataset.webgl = contextKind(viewer);
    container.dataset.frame = String(model.get("frame") || 0);
    container.dataset.frames = String((model.get("frames") || []).length);
    container.dataset.highlighted = String((model.get("highlight") || []).filter((i) => i < symbols.length).length);
    container.dataset.volumes = String((model.get("volumes") || []).length);
  }

  // A frame slider for trajectories (hidden for a single structure).
  function frameControls(model, el) {
    const bar = document.createElement("div");
    bar.className = "wb-molecule-frames";
    bar.style.display = "flex";
    bar.style.alignItems = "center";
    bar.style.gap = "8px";
    const slider = document.createElement("input");
    slider.type = "range";
    slider.min = "0";
    slider.step = "1";
    slider.style.flex = "1";
    const label = document.createElement("span");
    bar.append(slider, label);
    el.appendChild(bar);
    const sync = () => {
      const n = (model.get("frames") || []).length;
      bar.style.display = n > 1 ? "flex" : "none";
      slider.max = String(Math.max(n - 1, 0));
      slider.value = String(model.get("frame") || 0);
      label.textContent = `frame ${(model.get("frame") || 0) + 1} / ${n}`;
    };
    slider.addEventListener("input", () => {
      model.set("frame", Number(slider.value));
      model.save_changes();
    });
    sync();
    return sync;
  }

  function render({ model, el }) {
    const container = document.createElement("div");
    container.className = "wb-molecule-viewer";
    container.style.position = "relative";
    container.style.width = "100%";
    container.style.height = `${model.get("height")}px`;
    el.appendChild(container);
    // minimumZoomToDistance: 3Dmol's zoomTo frames at least a 5 Å radius by default, which leaves water a speck
    // in the middle of the view; 2 Å frames small molecules (and their dipole arrow) at a readable size.
    const viewer = createViewer(container, {
      backgroundColor: model.get("background") || "white",
      minimumZoomToDistance: 2,
    });
    const syncFrames = frameControls(model, el);
    draw(viewer, model, container, true);
    const redraw = () => {
      syncFrames();
      draw(viewer, model, container, false);
    };
    const events = ["change:positions", "change:symbols", "change:draw_style", "change:arrows", "change:background",
      "change:frames", "change:frame", "change:highlight"];
    events.push("change:volumes");
    for (const ev of events) model.on(ev, redraw);
    const resize = () => {
      container.style.height = `${model.get("height")}px`;
      viewer.resize();
      // The first draw may come before the output area gave the container its size, and a zoom computed then
      // frames the molecule in the wrong box: zoom once more at the first size the observer reports.
      if (!container.dataset.zoomed && container.clientWidth > 0 && container.clientHeight > 0) {
        viewer.zoomTo();
        container.dataset.zoomed = "1";
      }
      viewer.render();
      // Likewise the GL context may not exist before the container has a size.
      container.dataset.webgl = contextKind(viewer);
    };
    model.on("change:height", resize);
    // The output area may get its final size after render(): follow it.
    const observer = typeof ResizeObserver === "undefined" ? null : new ResizeObserver(() => resize());
    if (observer) observer.observe(container);
    return () => {
      if (observer) observer.disconnect();
      for (const ev of events) model.off(ev, redraw);
      model.off("change:height", resize);
      viewer.clear();
      container.remove();
      el.querySelectorAll(".wb-molecule-frames").forEach((bar) => bar.remove());
    };
  }

  return { render };
})();

export default __workbenchMoleculeViewer;
