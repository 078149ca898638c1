// Drag and drop a saved trace file anywhere on the page.

export function bindFileDrop(dropZone: HTMLElement, onFile: (file: File) => void, signal: AbortSignal): void {
  const opts = { signal };
  const hasFiles = (ev: DragEvent): boolean => !!ev.dataTransfer && Array.from(ev.dataTransfer.types).includes("Files");
  let depth = 0; // dragenter/dragleave fire for every child crossed
  document.addEventListener(
    "dragenter",
    (ev) => {
      if (!hasFiles(ev)) return;
      depth++;
      dropZone.hidden = false;
    },
    opts,
  );
  document.addEventListener(
    "dragleave",
    (ev) => {
      if (!hasFiles(ev)) return;
      depth = Math.max(0, depth - 1);
      if (depth === 0) dropZone.hidden = true;
    },
    opts,
  );
  document.addEventListener(
    "dragover",
    (ev) => {
      if (hasFiles(ev)) ev.preventDefault();
    },
    opts,
  );
  document.addEventListener(
    "drop",
    (ev) => {
      if (!hasFiles(ev)) return;
      ev.preventDefault();
      depth = 0;
      dropZone.hidden = true;
      const file = ev.dataTransfer?.files[0];
      if (file) onFile(file);
    },
    opts,
  );
}
