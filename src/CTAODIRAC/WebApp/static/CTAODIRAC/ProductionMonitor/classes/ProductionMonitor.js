/**
 * CTAODIRAC Production Monitor (docs/portal.md): every production with its status and progress, its
 * transformations with type, status, files per status and the failure agent's counts, and, for the selected
 * transformation, the failure agent's decisions and site bans, and plots of the failure agent's monitoring records
 * (files per status over time, failures by class and by site) for the selected transformation or production, drawn
 * by DIRAC's Monitoring service. Production managers can start, stop, flush and
 * complete a transformation and retry its given-up files; DIRAC's TransformationManager decides whether the user
 * may (ordinary users see no buttons, and the service refuses them anyway). Data: ProductionMonitor/getData (a
 * fixed number of RPCs whatever the number of transformations), ProductionMonitor/getDecisions,
 * ProductionMonitor/getPlot (a PNG; two RPCs each), ProductionMonitor/action.
 */
Ext.define("CTAODIRAC.ProductionMonitor.classes.ProductionMonitor", {
  extend: "Ext.dirac.core.Module",

  requires: ["Ext.grid.Panel", "Ext.data.Store", "Ext.grid.column.Widget", "Ext.ProgressBarWidget", "Ext.Img"],

  /** File statuses shown as columns (as the handler's FILE_STATUSES). */
  fileStatuses: ["Unused", "Assigned", "Processed", "Problematic", "MaxReset", "Removed"],

  /** Actions of a production manager: [action, button text, tooltip]. */
  transformationActions: [
    ["start", "Start", "Active, Automatic: DIRAC's agents create and submit its tasks"],
    ["stop", "Stop", "Stopped, Manual: no new tasks"],
    ["flush", "Flush", "Flush: the last, incomplete group of files gets a task"],
    ["complete", "Complete", "Completed: nothing more is done for it"],
    ["retry", "Retry given up", "its given-up files (Problematic, MaxReset) back to Unused: one more try each"],
  ],

  /** The plots of the Plots tab (as the handler's PLOTS): [plot, what it shows]. */
  plots: [
    ["progress", "Files per status over time (the failure agent's ProductionProgress records)"],
    ["classes", "Failures (retry, give-up, leave decisions) per failure class over time (FailureDecisions records)"],
    ["sites", "Failures per site of the failed job over time (FailureDecisions records)"],
  ],

  loadState: function (data) {},

  getStateData: function () {
    return {};
  },

  initComponent: function () {
    var me = this;
    me.launcher.title = "Production Monitor";
    me.launcher.maximized = true;
    Ext.apply(me, { layout: "border", bodyBorder: false, defaults: { split: true } });
    me.callParent(arguments);
  },

  progressColumn: function (flex) {
    return {
      xtype: "widgetcolumn",
      text: "Progress",
      dataIndex: "Progress",
      width: 130,
      widget: { xtype: "progressbarwidget", textTpl: ["{percent:number('0')}%"] },
    };
  },

  buildUI: function () {
    var me = this;
    me.canAct = false;
    me.selectedProduction = null;
    me.selectedTransformation = null;

    me.productionStore = Ext.create("Ext.data.Store", {
      fields: ["ProductionID", "Name", "Status", "Author", "CreationDate", "Transformations", "Files", "Processed",
               "Progress", "Failed", "GivenUp"],
      data: [],
    });
    me.transformationStore = Ext.create("Ext.data.Store", {
      fields: ["TransformationID", "ProductionID", "Name", "Type", "Status", "AgentType", "Files", "Other",
               "Progress", "Failed", "GivenUp", "LastUpdate"].concat(me.fileStatuses),
      data: [],
    });
    me.decisionStore = Ext.create("Ext.data.Store", {
      fields: ["DecisionID", "CreationTime", "JobID", "TaskID", "Kind", "Class", "Site", "NumFiles", "State", "Rule",
               "Reason", "Result"],
      data: [],
    });

    me.statusText = Ext.create("Ext.toolbar.TextItem", { text: "" });
    me.productionGrid = Ext.create("Ext.grid.Panel", {
      region: "north",
      height: "30%",
      title: "Productions",
      ctaoRole: "productions",
      store: me.productionStore,
      columns: [
        { text: "ID", dataIndex: "ProductionID", width: 60 },
        { text: "Name", dataIndex: "Name", flex: 1 },
        { text: "Status", dataIndex: "Status", width: 90 },
        me.progressColumn(),
        { text: "Transformations", dataIndex: "Transformations", width: 110 },
        { text: "Files", dataIndex: "Files", width: 70 },
        { text: "Processed", dataIndex: "Processed", width: 80 },
        { text: "Failed", dataIndex: "Failed", width: 70, tooltip: "failures the failure agent classified" },
        { text: "Given up", dataIndex: "GivenUp", width: 75, tooltip: "files the failure agent gave up" },
        { text: "Author", dataIndex: "Author", width: 80 },
        { text: "Created", dataIndex: "CreationDate", width: 150 },
      ],
      tbar: [
        { text: "Refresh", iconCls: "dirac-icon-refresh", handler: function () { me.refresh(); } },
        { text: "All productions", handler: function () { me.productionGrid.getSelectionModel().deselectAll(); } },
        "->",
        me.statusText,
      ],
      listeners: {
        selectionchange: function (model, selected) {
          me.selectedProduction = selected.length ? selected[0].get("ProductionID") : null;
          me.filterTransformations();
          me.loadPlotsSoon();
        },
      },
    });

    var transformationColumns = [
      { text: "ID", dataIndex: "TransformationID", width: 60 },
      { text: "Prod", dataIndex: "ProductionID", width: 50 },
      { text: "Name", dataIndex: "Name", flex: 1, minWidth: 160 },
      { text: "Type", dataIndex: "Type", width: 100 },
      { text: "Status", dataIndex: "Status", width: 85 },
      me.progressColumn(),
      { text: "Files", dataIndex: "Files", width: 55 },
    ];
    Ext.Array.each(me.fileStatuses, function (status) {
      transformationColumns.push({ text: status, dataIndex: status, width: 80 });
    });
    transformationColumns.push(
      { text: "Other", dataIndex: "Other", width: 55 },
      { text: "Failed", dataIndex: "Failed", width: 60 },
      { text: "Given up", dataIndex: "GivenUp", width: 70 },
      { text: "Last update", dataIndex: "LastUpdate", width: 150 }
    );
    me.actionButtons = [];
    Ext.Array.each(me.transformationActions, function (action) {
      me.actionButtons.push(
        Ext.create("Ext.button.Button", {
          text: action[1],
          tooltip: action[2],
          ctaoAction: action[0],
          disabled: true,
          handler: function () {
            if (me.selectedTransformation === null) return;
            me.doAction(action[0], me.selectedTransformation, function (answer) {
              GLOBAL.APP.CF.msg(answer.success == "true" ? "info" : "error", answer.message || answer.error);
            });
          },
        })
      );
    });
    me.transformationGrid = Ext.create("Ext.grid.Panel", {
      region: "center",
      title: "Transformations",
      ctaoRole: "transformations",
      store: me.transformationStore,
      columns: transformationColumns,
      tbar: me.actionButtons,
      listeners: {
        selectionchange: function (model, selected) {
          me.selectedTransformation = selected.length ? selected[0].get("TransformationID") : null;
          Ext.Array.each(me.actionButtons, function (b) { b.setDisabled(me.selectedTransformation === null); });
          me.loadDecisions();
          me.loadPlotsSoon();
        },
      },
    });

    me.banStore = Ext.create("Ext.data.Store", { fields: ["Site", "Files", "LFNs"], data: [] });
    me.banGrid = Ext.create("Ext.grid.Panel", {
      title: "Site bans",
      ctaoRole: "bans",
      store: me.banStore,
      columns: [
        { text: "Site", dataIndex: "Site", width: 160 },
        { text: "Files", dataIndex: "Files", width: 60, tooltip: "files whose new tasks must avoid the site" },
        { text: "Files (first 20)", dataIndex: "LFNs", flex: 1 },
      ],
    });
    me.decisionGrid = Ext.create("Ext.grid.Panel", {
      title: "Failure agent's decisions (select a transformation)",
      ctaoRole: "decisions",
      store: me.decisionStore,
      columns: [
        { text: "Time (UTC)", dataIndex: "CreationTime", width: 150 },
        { text: "Job", dataIndex: "JobID", width: 70 },
        { text: "Task", dataIndex: "TaskID", width: 60 },
        { text: "Class", dataIndex: "Class", width: 110 },
        { text: "Action", dataIndex: "Kind", width: 85 },
        { text: "Site", dataIndex: "Site", width: 120 },
        { text: "Files", dataIndex: "NumFiles", width: 50 },
        { text: "State", dataIndex: "State", width: 75 },
        { text: "Rule", dataIndex: "Rule", width: 140 },
        { text: "Reason", dataIndex: "Reason", flex: 1 },
      ],
    });

    me.buildPlots();
    me.failurePanel = Ext.create("Ext.tab.Panel", {
      region: "south",
      height: "30%",
      items: [me.decisionGrid, me.banGrid, me.plotPanel],
    });
    me.add([me.productionGrid, me.transformationGrid, me.failurePanel]);
    me.refresh();
  },

  /** The Plots tab: one image per plot, side by side, and the period they cover. */
  buildPlots: function () {
    var me = this;
    me.plotImages = {};
    me.plotStates = {};
    me.loadPlotsSoon = Ext.Function.createBuffered(me.loadPlots, 200, me);
    me.plotPeriod = Ext.create("Ext.form.field.ComboBox", {
      fieldLabel: "Period",
      labelWidth: 45,
      width: 160,
      editable: false,
      value: "day",
      store: [["day", "last day"], ["week", "last week"], ["month", "last month"]],
      listeners: { change: function () { me.loadPlots(); } },
    });
    me.plotScope = Ext.create("Ext.toolbar.TextItem", { text: "" });
    var items = [];
    Ext.Array.each(me.plots, function (plot) {
      var image = Ext.create("Ext.Img", {
        flex: 1,
        alt: plot[1],
        title: plot[1] + ". Click: full size.",
        ctaoPlot: plot[0],
        style: "object-fit: contain; margin: 2px; cursor: zoom-in",
        listeners: {
          click: { element: "el", fn: function (event, dom) { me.openPlot(dom); } },
          load: { element: "el", fn: function (event, dom) { me.plotLoaded(plot[0], dom, "loaded"); } },
          error: { element: "el", fn: function (event, dom) { me.plotLoaded(plot[0], dom, "error"); } },
        },
      });
      me.plotImages[plot[0]] = image;
      items.push(image);
    });
    me.plotPanel = Ext.create("Ext.panel.Panel", {
      title: "Plots",
      ctaoRole: "plots",
      layout: { type: "hbox", align: "stretch" },
      items: items,
      tbar: [
        me.plotPeriod,
        { text: "Refresh plots", iconCls: "dirac-icon-refresh", handler: function () { me.loadPlots(); } },
        "->",
        me.plotScope,
      ],
      listeners: {
        // the plots want room: the tab panel grows while they are shown
        activate: function () {
          me.failurePanel.setHeight(Math.round(me.getHeight() * 0.45));
          me.loadPlotsSoon();
        },
        deactivate: function () { me.failurePanel.setHeight(Math.round(me.getHeight() * 0.3)); },
      },
    });
  },

  /** A plot at its full size, in a new browser tab. */
  openPlot: function (dom) {
    if (dom.src.indexOf("ProductionMonitor/getPlot") >= 0) window.open(dom.src, "_blank");
  },

  /** Note what the browser made of a plot's image (not of the blank image an Ext.Img starts with). */
  plotLoaded: function (plot, dom, state) {
    if (dom.src.indexOf("ProductionMonitor/getPlot") >= 0) this.plotStates[plot] = state;
  },

  /** Draw the plots of the selected transformation, else of the selected production, else of all (one
   * ProductionMonitor/getPlot each, which DIRAC's Monitoring service draws); only while the Plots tab is shown. */
  loadPlots: function () {
    var me = this;
    if (!me.plotPanel.rendered || me.failurePanel.getActiveTab() !== me.plotPanel) return;
    var params = { period: me.plotPeriod.getValue(), _: Date.now() };
    var scope = "all productions";
    if (me.selectedTransformation !== null) {
      params.transformationID = me.selectedTransformation;
      scope = "transformation " + me.selectedTransformation;
    } else if (me.selectedProduction !== null) {
      params.productionID = me.selectedProduction;
      scope = "production " + me.selectedProduction;
    }
    // DIRAC's plots need ~700 pixels across (its legend is cut in narrower ones): narrower boxes show them scaled
    var size = me.plotPanel.body.getSize();
    var box = {
      width: Math.max(100, Math.floor(size.width / me.plots.length) - 4),
      height: Math.max(100, size.height - 4),
    };
    params.width = Math.min(1600, Math.max(700, box.width));
    params.height = Math.min(1600, Math.max(200, Math.round((box.height * params.width) / box.width)));
    me.plotScope.setText("Monitoring records of " + scope + " (DIRAC's Monitoring service)");
    Ext.Array.each(me.plots, function (plot) {
      me.plotStates[plot[0]] = "loading";
      var query = Ext.Object.toQueryString(Ext.apply({ plot: plot[0] }, params));
      me.plotImages[plot[0]].setSrc(GLOBAL.BASE_URL + "ProductionMonitor/getPlot?" + query);
    });
  },

  /** Reload productions and transformations (ProductionMonitor/getData). */
  refresh: function (callback) {
    var me = this;
    me.statusText.setText("loading...");
    Ext.Ajax.request({
      url: GLOBAL.BASE_URL + "ProductionMonitor/getData",
      method: "POST",
      success: function (response) {
        var data = Ext.JSON.decode(response.responseText);
        if (data.success != "true") {
          me.statusText.setText("error: " + data.error);
          GLOBAL.APP.CF.alert(data.error, "error");
          return;
        }
        me.canAct = data.canAct;
        Ext.Array.each(me.actionButtons, function (b) { b.setHidden(!me.canAct); });
        me.allTransformations = data.transformations;
        me.productionStore.loadData(data.productions);
        me.filterTransformations();
        me.statusText.setText(
          data.productions.length + " productions, " + data.transformations.length + " transformations (" +
            data.seconds + " s)" + (me.canAct ? "" : " - read only")
        );
        me.loaded = true;
        if (callback) callback(data);
      },
      failure: function (response) {
        me.statusText.setText("error: " + response.status + " " + response.statusText);
      },
    });
  },

  filterTransformations: function () {
    var me = this;
    var rows = me.allTransformations || [];
    if (me.selectedProduction !== null) {
      rows = Ext.Array.filter(rows, function (r) { return r.ProductionID === me.selectedProduction; });
    }
    me.transformationStore.loadData(rows);
    me.transformationGrid.setTitle(
      "Transformations" + (me.selectedProduction !== null ? " of production " + me.selectedProduction : "")
    );
  },

  /** The failure agent's decisions about the selected transformation (ProductionMonitor/getDecisions). */
  loadDecisions: function (callback) {
    var me = this;
    if (me.selectedTransformation === null) {
      me.decisionStore.loadData([]);
      me.banStore.loadData([]);
      return;
    }
    var tid = me.selectedTransformation;
    Ext.Ajax.request({
      url: GLOBAL.BASE_URL + "ProductionMonitor/getDecisions",
      method: "POST",
      params: { transformationID: tid },
      success: function (response) {
        var data = Ext.JSON.decode(response.responseText);
        if (me.selectedTransformation !== tid) return;
        me.decisionStore.loadData(data.success == "true" ? data.decisions : []);
        me.banStore.loadData(data.success == "true" ? data.bans : []);
        me.banGrid.setTitle("Site bans" + (data.success == "true" ? " (" + data.bans.length + ")" : ""));
        me.decisionGrid.setTitle(
          "Failure agent's decisions for transformation " + tid +
            (data.success == "true" ? " (" + data.decisions.length + ")" : ": " + data.error)
        );
        if (callback) callback(data);
      },
    });
  },

  /** Ask DIRAC to change a transformation (ProductionMonitor/action); callback(answer); refreshes after. */
  doAction: function (action, transformationID, callback) {
    var me = this;
    Ext.Ajax.request({
      url: GLOBAL.BASE_URL + "ProductionMonitor/action",
      method: "POST",
      params: { action: action, transformationID: transformationID },
      success: function (response) {
        var answer = Ext.JSON.decode(response.responseText);
        if (callback) callback(answer);
        me.refresh();
      },
      failure: function (response) {
        if (callback) callback({ success: "false", error: response.status + " " + response.statusText });
      },
    });
  },
});
